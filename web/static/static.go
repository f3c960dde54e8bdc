// Package static holds the console's stylesheet and other assets, embedded
// in the binary so the console needs no CDN and works offline.
package static

import "embed"

// FS is the asset tree served under /static/.
//
//go:embed *.css
var FS embed.FS
