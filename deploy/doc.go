// Package deploy holds Muster's deployment files: the container image
// (docker/Dockerfile), the Kubernetes manifests (k8s/, a Kustomize base and
// overlays) and local service bootstrap (local/). Its tests build the binary
// the way the image does and render and check every overlay; see
// docs/operations.md.
package deploy
