package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document of the player REST API (openapi.yaml),
// for the server to publish. A test keeps its paths in step with the routes
// MountAuth, MountInventory and MountStore register.
//
//go:embed openapi.yaml
var OpenAPI []byte
