//go:build embedschema

package main

import _ "embed"

// schemaJSON is the schema document scripts/install-tofu.sh puts beside the sources in its
// build directory (never committed).
//
//go:embed schema.json
var schemaJSON []byte
