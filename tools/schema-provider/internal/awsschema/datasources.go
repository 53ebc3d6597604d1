package awsschema

import (
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// AccountID is the account every offline read reports.
const AccountID = "123456789012"

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// dataSourceSpecials gives, for the data sources whose values modules compute names and ARNs
// from, the top-level attributes to report instead of a generic placeholder.
func dataSourceSpecials(typeName, region string, config tftypes.Value) map[string]tftypes.Value {
	switch typeName {
	case "aws_region":
		return map[string]tftypes.Value{"region": str(region), "name": str(region), "id": str(region),
			"endpoint": str("ec2." + region + ".amazonaws.com"), "description": str(region)}
	case "aws_caller_identity":
		return map[string]tftypes.Value{"account_id": str(AccountID), "id": str(AccountID),
			"arn": str("arn:aws:iam::" + AccountID + ":user/logferry-offline"), "user_id": str("AIDALOGFERRYOFFLINE")}
	case "aws_partition":
		return map[string]tftypes.Value{"partition": str("aws"), "id": str("aws"),
			"dns_suffix": str("amazonaws.com"), "reverse_dns_prefix": str("com.amazonaws")}
	case "aws_iam_policy_document":
		doc := PolicyDocument(config)
		return map[string]tftypes.Value{"json": str(doc), "minified_json": str(doc), "id": str("offline")}
	}
	return nil
}

// PolicyDocument renders an aws_iam_policy_document configuration's version and statement
// blocks as an IAM policy JSON document (source/override documents are not merged offline).
func PolicyDocument(config tftypes.Value) string {
	fields := objectFields(config)
	doc := map[string]any{"Version": "2012-10-17"}
	if v := stringOf(fields["version"]); v != "" {
		doc["Version"] = v
	}
	if v := stringOf(fields["policy_id"]); v != "" {
		doc["Id"] = v
	}
	statements := []any{}
	for _, s := range elementsOf(fields["statement"]) {
		statements = append(statements, policyStatement(objectFields(s)))
	}
	doc["Statement"] = statements
	out, _ := json.Marshal(doc)
	return string(out)
}

func policyStatement(f map[string]tftypes.Value) map[string]any {
	st := map[string]any{"Effect": "Allow"}
	if v := stringOf(f["effect"]); v != "" {
		st["Effect"] = v
	}
	if v := stringOf(f["sid"]); v != "" {
		st["Sid"] = v
	}
	for attr, key := range map[string]string{"actions": "Action", "not_actions": "NotAction",
		"resources": "Resource", "not_resources": "NotResource"} {
		if list := stringsOf(f[attr]); len(list) > 0 {
			st[key] = oneOrMany(list)
		}
	}
	for attr, key := range map[string]string{"principals": "Principal", "not_principals": "NotPrincipal"} {
		principals := map[string]any{}
		for _, p := range elementsOf(f[attr]) {
			pf := objectFields(p)
			principals[stringOf(pf["type"])] = oneOrMany(stringsOf(pf["identifiers"]))
		}
		if len(principals) > 0 {
			st[key] = principals
		}
	}
	conditions := map[string]map[string]any{}
	for _, c := range elementsOf(f["condition"]) {
		cf := objectFields(c)
		test := stringOf(cf["test"])
		if conditions[test] == nil {
			conditions[test] = map[string]any{}
		}
		conditions[test][stringOf(cf["variable"])] = oneOrMany(stringsOf(cf["values"]))
	}
	if len(conditions) > 0 {
		st["Condition"] = conditions
	}
	return st
}

func oneOrMany(list []string) any {
	if len(list) == 1 {
		return list[0]
	}
	return list
}

func objectFields(v tftypes.Value) map[string]tftypes.Value {
	fields := map[string]tftypes.Value{}
	if v.IsKnown() && !v.IsNull() && v.Type().Is(tftypes.Object{}) {
		_ = v.As(&fields)
	}
	return fields
}

func elementsOf(v tftypes.Value) []tftypes.Value {
	var elems []tftypes.Value
	if v.IsKnown() && !v.IsNull() && (v.Type().Is(tftypes.List{}) || v.Type().Is(tftypes.Set{})) {
		_ = v.As(&elems)
	}
	return elems
}

func stringOf(v tftypes.Value) string {
	var s string
	if v.IsKnown() && !v.IsNull() && v.Type().Is(tftypes.String) {
		_ = v.As(&s)
	}
	return s
}

func stringsOf(v tftypes.Value) []string {
	var out []string
	for _, e := range elementsOf(v) {
		out = append(out, stringOf(e))
	}
	return out
}
