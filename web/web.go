// Package web holds the HTML templates and static files of asanajira's own
// pages (account connection, admin console), embedded in the binary. Each
// feature keeps its templates in templates/<feature>/ and parses them with
// its own function map; layout.html is the shared frame.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// Templates is the tree of templates: layout.html and templates/<feature>/*.html.
func Templates() fs.FS {
	sub, _ := fs.Sub(files, "templates") // the folder is embedded; Sub cannot fail
	return sub
}

// Static is the tree of static files served under /static/.
func Static() fs.FS {
	sub, _ := fs.Sub(files, "static") // the folder is embedded; Sub cannot fail
	return sub
}
