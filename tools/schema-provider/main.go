// Command terraform-provider-aws is logferry's offline stand-in for hashicorp/aws: it serves the
// real provider's schema (extracted from npm by scripts/aws_provider_schema.py and embedded at
// build time by scripts/install-tofu.sh) so OpenTofu can validate, test and plan offline.
// Apply and import are refused. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"

	"github.com/logferry/logferry/tools/schema-provider/internal/awsschema"
)

// Address is the provider address the plugin announces.
const Address = "registry.opentofu.org/hashicorp/aws"

// schemaAddress is where the schema document files the provider (terraform's own naming).
const schemaAddress = "registry.terraform.io/hashicorp/aws"

func main() {
	if len(schemaJSON) == 0 {
		fmt.Fprintln(os.Stderr, "terraform-provider-aws (logferry schema provider): built without a schema; "+
			"build it with scripts/install-tofu.sh, which embeds the extracted schema (-tags embedschema)")
		os.Exit(1)
	}
	p, err := awsschema.Load(schemaJSON, schemaAddress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "terraform-provider-aws (logferry schema provider):", err)
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println(p.Summary())
		return
	}
	server := awsschema.NewServer(p)
	if err := tf5server.Serve(Address, func() tfprotov5.ProviderServer { return server }); err != nil {
		fmt.Fprintln(os.Stderr, "terraform-provider-aws (logferry schema provider):", err)
		os.Exit(1)
	}
}
