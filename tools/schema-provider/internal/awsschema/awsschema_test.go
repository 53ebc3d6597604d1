package awsschema

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const address = "registry.terraform.io/hashicorp/aws"

func load(t *testing.T) *Provider {
	t.Helper()
	data, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(data, address)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseType(t *testing.T) {
	cases := map[string]tftypes.Type{
		`"string"`:                 tftypes.String,
		`"number"`:                 tftypes.Number,
		`"bool"`:                   tftypes.Bool,
		`"dynamic"`:                tftypes.DynamicPseudoType,
		`["list","string"]`:        tftypes.List{ElementType: tftypes.String},
		`["set",["map","number"]]`: tftypes.Set{ElementType: tftypes.Map{ElementType: tftypes.Number}},
		`["object",{"a":"bool","b":["list","string"]}]`: tftypes.Object{AttributeTypes: map[string]tftypes.Type{
			"a": tftypes.Bool, "b": tftypes.List{ElementType: tftypes.String}}},
		`["object",{"a":"bool"},["a"]]`: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"a": tftypes.Bool},
			OptionalAttributes: map[string]struct{}{"a": {}}},
		`["tuple",["string","number"]]`: tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Number}},
	}
	for raw, want := range cases {
		got, err := ParseType(json.RawMessage(raw))
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: got %s, want %s", raw, got, want)
		}
	}
	for _, bad := range []string{`"str"`, `["list"]`, `["vector","string"]`, `42`, `["object","x"]`} {
		if _, err := ParseType(json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestLoadConvertsBlocksAndAttributes(t *testing.T) {
	p := load(t)
	if p.Source.ProviderVersion != "6.0.0" {
		t.Errorf("provider_version %q", p.Source.ProviderVersion)
	}
	fn := p.Resources["aws_lambda_function"].Block
	var env *tfprotov5.SchemaNestedBlock
	for _, b := range fn.BlockTypes {
		if b.TypeName == "environment" {
			env = b
		}
	}
	if env == nil || env.Nesting != tfprotov5.SchemaNestedBlockNestingModeList || env.MaxItems != 1 {
		t.Fatalf("environment block: %+v", env)
	}
	var role *tfprotov5.SchemaAttribute
	for _, a := range fn.Attributes {
		if a.Name == "role" {
			role = a
		}
	}
	if role == nil || !role.Required || role.Computed || !role.Type.Is(tftypes.String) {
		t.Fatalf("role attribute: %+v", role)
	}
	if _, ok := p.DataSources["aws_iam_policy_document"]; !ok {
		t.Fatal("no aws_iam_policy_document")
	}
	if _, err := Load([]byte(`{"format_version":"1.0","provider_schemas":{}}`), address); err == nil {
		t.Fatal("a document without the provider loaded")
	}
	if _, err := Load([]byte(`{"format_version":"0.1"}`), address); err == nil {
		t.Fatal("format_version 0.1 loaded")
	}
}

func field(t *testing.T, v tftypes.Value, name string) tftypes.Value {
	t.Helper()
	var fields map[string]tftypes.Value
	if err := v.As(&fields); err != nil {
		t.Fatal(err)
	}
	f, ok := fields[name]
	if !ok {
		t.Fatalf("no field %s", name)
	}
	return f
}

// objectOf builds a value of block b's type from the given fields; the others are null (or an
// empty list/set for nested blocks, as the engine sends them).
func objectOf(b *tfprotov5.SchemaBlock, set map[string]tftypes.Value) tftypes.Value {
	typ := b.ValueType().(tftypes.Object)
	fields := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		if v, ok := set[name]; ok {
			fields[name] = v
		} else {
			fields[name] = tftypes.NewValue(at, nil)
		}
	}
	return tftypes.NewValue(typ, fields)
}

func nested(b *tfprotov5.SchemaBlock, name string) *tfprotov5.SchemaNestedBlock {
	for _, nb := range b.BlockTypes {
		if nb.TypeName == name {
			return nb
		}
	}
	return nil
}

func dv(t *testing.T, typ tftypes.Type, v tftypes.Value) *tfprotov5.DynamicValue {
	t.Helper()
	d, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func lambdaConfig(p *Provider, logGroup tftypes.Value) tftypes.Value {
	fn := p.Resources["aws_lambda_function"].Block
	lc := nested(fn, "logging_config")
	lcType := lc.ValueType()
	elem := objectOf(lc.Block, map[string]tftypes.Value{"log_format": str("JSON"), "log_group": logGroup})
	return objectOf(fn, map[string]tftypes.Value{
		"function_name":  str("logferry-x"),
		"role":           str("arn:aws:iam::123456789012:role/r"),
		"memory_size":    tftypes.NewValue(tftypes.Number, big.NewFloat(256)),
		"environment":    tftypes.NewValue(nested(fn, "environment").ValueType(), []tftypes.Value{}),
		"logging_config": tftypes.NewValue(lcType, []tftypes.Value{elem}),
	})
}

func TestPlanCreateMarksNullComputedUnknownAtAnyDepth(t *testing.T) {
	p := load(t)
	s := NewServer(p)
	typ := p.Resources["aws_lambda_function"].ValueType()
	proposed := lambdaConfig(p, tftypes.NewValue(tftypes.String, nil))
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName: "aws_lambda_function", PriorState: dv(t, typ, tftypes.NewValue(typ, nil)),
		ProposedNewState: dv(t, typ, proposed), Config: dv(t, typ, proposed)})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatal(err, resp.Diagnostics)
	}
	planned, err := resp.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"arn", "id", "tags_all"} {
		if field(t, planned, name).IsKnown() {
			t.Errorf("%s is known in the plan", name)
		}
	}
	if !field(t, planned, "handler").IsNull() || !field(t, planned, "handler").IsKnown() {
		t.Error("handler (optional, not computed) is not left null")
	}
	if field(t, planned, "memory_size").IsKnown() == false {
		t.Error("memory_size, set in config, became unknown")
	}
	var items []tftypes.Value
	if err := field(t, planned, "logging_config").As(&items); err != nil || len(items) != 1 {
		t.Fatal(err, items)
	}
	if field(t, items[0], "log_group").IsKnown() {
		t.Error("nested computed log_group is known")
	}
	if got := stringOf(field(t, items[0], "log_format")); got != "JSON" {
		t.Errorf("nested log_format %q", got)
	}
}

func TestPlanUpdateKeepsProposedAndDestroyIsNull(t *testing.T) {
	p := load(t)
	s := NewServer(p)
	typ := p.Resources["aws_lambda_function"].ValueType()
	prior := lambdaConfig(p, str("/aws/lambda/logferry-x"))
	resp, _ := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName: "aws_lambda_function", PriorState: dv(t, typ, prior),
		ProposedNewState: dv(t, typ, prior), Config: dv(t, typ, prior)})
	planned, _ := resp.PlannedState.Unmarshal(typ)
	if !planned.Equal(prior) {
		t.Errorf("update plan differs from proposed: %s", planned)
	}
	resp, _ = s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName: "aws_lambda_function", PriorState: dv(t, typ, prior),
		ProposedNewState: dv(t, typ, tftypes.NewValue(typ, nil)), Config: dv(t, typ, tftypes.NewValue(typ, nil))})
	planned, _ = resp.PlannedState.Unmarshal(typ)
	if !planned.IsNull() {
		t.Errorf("destroy plan is not null: %s", planned)
	}
}

func readData(t *testing.T, s *Server, name string, set map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	sc := s.schema.DataSources[name]
	typ := sc.ValueType()
	resp, err := s.ReadDataSource(context.Background(), &tfprotov5.ReadDataSourceRequest{
		TypeName: name, Config: dv(t, typ, objectOf(sc.Block, set))})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatal(err, resp.Diagnostics)
	}
	v, err := resp.State.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsFullyKnown() {
		t.Fatalf("%s read is not wholly known: %s", name, v)
	}
	return v
}

func configure(t *testing.T, s *Server, region string) {
	t.Helper()
	set := map[string]tftypes.Value{}
	if region != "" {
		set["region"] = str(region)
	}
	b := s.schema.Provider.Block
	set["default_tags"] = tftypes.NewValue(nested(b, "default_tags").ValueType(), []tftypes.Value{})
	resp, _ := s.ConfigureProvider(context.Background(), &tfprotov5.ConfigureProviderRequest{
		Config: dv(t, s.schema.Provider.ValueType(), objectOf(b, set))})
	if len(resp.Diagnostics) > 0 {
		t.Fatal(resp.Diagnostics)
	}
}

func TestRegionFromConfigThenEnvironmentThenDefault(t *testing.T) {
	s := NewServer(load(t))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	configure(t, s, "")
	if s.Region() != DefaultRegion {
		t.Errorf("default region %q", s.Region())
	}
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	configure(t, s, "")
	if s.Region() != "eu-west-1" {
		t.Errorf("AWS_DEFAULT_REGION gave %q", s.Region())
	}
	t.Setenv("AWS_REGION", "eu-central-1")
	configure(t, s, "")
	if s.Region() != "eu-central-1" {
		t.Errorf("AWS_REGION gave %q", s.Region())
	}
	configure(t, s, "ap-south-1")
	if s.Region() != "ap-south-1" {
		t.Errorf("config region gave %q", s.Region())
	}
	v := readData(t, s, "aws_region", nil)
	if stringOf(field(t, v, "region")) != "ap-south-1" || stringOf(field(t, v, "name")) != "ap-south-1" {
		t.Errorf("aws_region read %s", v)
	}
	v = readData(t, s, "aws_region", map[string]tftypes.Value{"region": str("us-west-2")})
	if stringOf(field(t, v, "region")) != "us-west-2" {
		t.Errorf("configured aws_region.region overwritten: %s", v)
	}
}

func TestDataSourcePlaceholders(t *testing.T) {
	s := NewServer(load(t))
	v := readData(t, s, "aws_caller_identity", nil)
	if got := stringOf(field(t, v, "account_id")); got != AccountID {
		t.Errorf("account_id %q", got)
	}
	if got := stringOf(field(t, v, "arn")); !strings.HasPrefix(got, "arn:aws:iam::"+AccountID+":") {
		t.Errorf("arn %q does not carry the account", got)
	}
	v = readData(t, s, "aws_partition", nil)
	if stringOf(field(t, v, "partition")) != "aws" || stringOf(field(t, v, "dns_suffix")) != "amazonaws.com" {
		t.Errorf("aws_partition read %s", v)
	}
	v = readData(t, s, "aws_vpc", nil)
	if stringOf(field(t, v, "cidr_block")) != "placeholder" {
		t.Errorf("cidr_block %s", field(t, v, "cidr_block"))
	}
	var n big.Float
	if err := field(t, v, "ipv6_netmask_length").As(&n); err != nil || n.Sign() != 0 {
		t.Errorf("number placeholder %v %v", n.String(), err)
	}
	var b bool
	if err := field(t, v, "enable_dns_support").As(&b); err != nil || b {
		t.Errorf("bool placeholder %v", err)
	}
	var assoc []tftypes.Value
	if err := field(t, v, "cidr_block_associations").As(&assoc); err != nil || len(assoc) != 0 {
		t.Errorf("list placeholder %v %v", assoc, err)
	}
	if stringOf(field(t, field(t, v, "main_route"), "id")) != "placeholder" {
		t.Errorf("object placeholder %s", field(t, v, "main_route"))
	}
}

func TestPolicyDocumentRendersStatements(t *testing.T) {
	s := NewServer(load(t))
	sc := s.schema.DataSources["aws_iam_policy_document"].Block
	st := nested(sc, "statement")
	principals := nested(st.Block, "principals")
	cond := nested(st.Block, "condition")
	strs := func(xs ...string) tftypes.Value {
		vals := make([]tftypes.Value, len(xs))
		for i, x := range xs {
			vals[i] = str(x)
		}
		return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vals)
	}
	elem := objectOf(st.Block, map[string]tftypes.Value{
		"effect":    str("Deny"),
		"actions":   strs("s3:*"),
		"resources": strs("arn:aws:s3:::b", "arn:aws:s3:::b/*"),
		"principals": tftypes.NewValue(principals.ValueType(), []tftypes.Value{objectOf(principals.Block,
			map[string]tftypes.Value{"type": str("*"), "identifiers": strs("*")})}),
		"condition": tftypes.NewValue(cond.ValueType(), []tftypes.Value{objectOf(cond.Block, map[string]tftypes.Value{
			"test": str("Bool"), "variable": str("aws:SecureTransport"),
			"values": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{str("false")})})}),
	})
	v := readData(t, s, "aws_iam_policy_document", map[string]tftypes.Value{
		"statement": tftypes.NewValue(st.ValueType(), []tftypes.Value{elem})})
	var doc struct {
		Version   string
		Statement []struct {
			Effect    string
			Action    any
			Resource  []string
			Principal map[string]any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(stringOf(field(t, v, "json"))), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2012-10-17" || len(doc.Statement) != 1 {
		t.Fatalf("policy %+v", doc)
	}
	got := doc.Statement[0]
	if got.Effect != "Deny" || got.Action != "s3:*" || len(got.Resource) != 2 ||
		got.Principal["*"] != "*" || got.Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("statement %+v", got)
	}
}

func TestApplyAndImportAreRefused(t *testing.T) {
	s := NewServer(load(t))
	apply, _ := s.ApplyResourceChange(context.Background(), &tfprotov5.ApplyResourceChangeRequest{TypeName: "aws_s3_bucket"})
	imp, _ := s.ImportResourceState(context.Background(), &tfprotov5.ImportResourceStateRequest{TypeName: "aws_s3_bucket", ID: "b"})
	for _, diags := range [][]*tfprotov5.Diagnostic{apply.Diagnostics, imp.Diagnostics} {
		if len(diags) != 1 || diags[0].Severity != tfprotov5.DiagnosticSeverityError ||
			!strings.Contains(diags[0].Detail, "make deploy") || !strings.Contains(diags[0].Detail, "validate and plan") {
			t.Errorf("diagnostics %+v", diags)
		}
	}
}

func TestUpgradeStateIgnoresRemovedAttributes(t *testing.T) {
	s := NewServer(load(t))
	typ := s.schema.Resources["aws_s3_bucket"].ValueType()
	resp, _ := s.UpgradeResourceState(context.Background(), &tfprotov5.UpgradeResourceStateRequest{
		TypeName: "aws_s3_bucket", RawState: &tfprotov5.RawState{JSON: []byte(`{"bucket":"b","acl":"private"}`)}})
	if len(resp.Diagnostics) > 0 {
		t.Fatal(resp.Diagnostics)
	}
	v, err := resp.UpgradedState.Unmarshal(typ)
	if err != nil || stringOf(field(t, v, "bucket")) != "b" {
		t.Fatalf("upgraded %s %v", v, err)
	}
}

func TestUnknownTypesAreErrors(t *testing.T) {
	s := NewServer(load(t))
	r, _ := s.ValidateResourceTypeConfig(context.Background(), &tfprotov5.ValidateResourceTypeConfigRequest{TypeName: "aws_nope"})
	d, _ := s.ValidateDataSourceConfig(context.Background(), &tfprotov5.ValidateDataSourceConfigRequest{TypeName: "aws_nope"})
	if len(r.Diagnostics) != 1 || len(d.Diagnostics) != 1 {
		t.Errorf("unknown types: %v %v", r.Diagnostics, d.Diagnostics)
	}
	ok, _ := s.ValidateResourceTypeConfig(context.Background(), &tfprotov5.ValidateResourceTypeConfigRequest{TypeName: "aws_s3_bucket"})
	if len(ok.Diagnostics) != 0 {
		t.Errorf("known type gave %v", ok.Diagnostics)
	}
}

func TestSetBlocksHoldingDynamicBecomeLists(t *testing.T) {
	doc := `{"format_version":"1.0","provider_schemas":{"` + address + `":{
	  "provider":{"block":{}},
	  "resource_schemas":{"aws_wafv2_rule_group":{"block":{"block_types":{
	    "rule":{"nesting_mode":"set","block":{
	      "attributes":{"name":{"type":"string","required":true}},
	      "block_types":{"statement":{"nesting_mode":"list","max_items":1,"block":{
	        "attributes":{"and_statement":{"type":"dynamic","optional":true}}}}}}},
	    "tag":{"nesting_mode":"set","block":{"attributes":{"key":{"type":"string","optional":true}}}}}}}},
	  "data_source_schemas":{}}}}`
	p, err := Load([]byte(doc), address)
	if err != nil {
		t.Fatal(err)
	}
	b := p.Resources["aws_wafv2_rule_group"].Block
	if got := nested(b, "rule").Nesting; got != tfprotov5.SchemaNestedBlockNestingModeList {
		t.Errorf("rule nesting %s, want LIST", got)
	}
	if got := nested(b, "tag").Nesting; got != tfprotov5.SchemaNestedBlockNestingModeSet {
		t.Errorf("tag nesting %s, want SET", got)
	}
}
