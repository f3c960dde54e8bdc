// Package deploy holds Muster's deployment files: the container image
// (docker/Dockerfile), the Kubernetes manifests (k8s/, a Kustomize base and
// overlays), Prometheus rules (prometheus/), Grafana dashboards (grafana/),
// the zero-downtime drill (drill/, `make drill`) and local service bootstrap
// (local/). Its tests build the binary the way the image does, render and
// check every overlay, and check the rules, dashboards and CI workflow
// against the metrics the binary exports; see docs/operations.md.
package deploy
