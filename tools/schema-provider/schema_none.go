//go:build !embedschema

package main

// schemaJSON is empty in a build without -tags embedschema: main says how to build it.
var schemaJSON []byte
