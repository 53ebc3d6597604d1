// Package awsschema turns the JSON that `terraform providers schema -json` prints into the
// plugin protocol's schema types, and implements the offline provider that serves them.
package awsschema

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Source names the npm package the schema was extracted from (the "logferry_source" key).
type Source struct {
	Package         string `json:"package"`
	Version         string `json:"version"`
	ProviderVersion string `json:"provider_version"`
}

// Provider is one provider's schemas, converted.
type Provider struct {
	Address     string
	Source      Source
	Provider    *tfprotov5.Schema
	Resources   map[string]*tfprotov5.Schema
	DataSources map[string]*tfprotov5.Schema
}

type jsonDocument struct {
	FormatVersion   string                  `json:"format_version"`
	ProviderSchemas map[string]jsonProvider `json:"provider_schemas"`
	Source          Source                  `json:"logferry_source"`
}

type jsonProvider struct {
	Provider    *jsonSchema            `json:"provider"`
	Resources   map[string]*jsonSchema `json:"resource_schemas"`
	DataSources map[string]*jsonSchema `json:"data_source_schemas"`
}

type jsonSchema struct {
	Version int64      `json:"version"`
	Block   *jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes  map[string]*jsonAttribute   `json:"attributes"`
	BlockTypes  map[string]*jsonNestedBlock `json:"block_types"`
	Description string                      `json:"description"`
	Deprecated  bool                        `json:"deprecated"`
}

type jsonAttribute struct {
	Type        json.RawMessage `json:"type"`
	NestedType  *jsonNestedType `json:"nested_type"`
	Description string          `json:"description"`
	Required    bool            `json:"required"`
	Optional    bool            `json:"optional"`
	Computed    bool            `json:"computed"`
	Sensitive   bool            `json:"sensitive"`
	Deprecated  bool            `json:"deprecated"`
	WriteOnly   bool            `json:"write_only"`
}

// jsonNestedType is a plugin-framework nested attribute; protocol 5 has no such thing, so it
// is served as the equivalent collection of objects.
type jsonNestedType struct {
	Attributes  map[string]*jsonAttribute `json:"attributes"`
	NestingMode string                    `json:"nesting_mode"`
}

type jsonNestedBlock struct {
	NestingMode string     `json:"nesting_mode"`
	Block       *jsonBlock `json:"block"`
	MinItems    int64      `json:"min_items"`
	MaxItems    int64      `json:"max_items"`
}

// Load parses a schema document and converts the schemas of the provider at address.
func Load(data []byte, address string) (*Provider, error) {
	var doc jsonDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("schema document: %w", err)
	}
	if doc.FormatVersion != "1.0" {
		return nil, fmt.Errorf("schema document: format_version %q, want \"1.0\"", doc.FormatVersion)
	}
	raw, ok := doc.ProviderSchemas[address]
	if !ok {
		return nil, fmt.Errorf("schema document has no provider %q", address)
	}
	p := &Provider{
		Address:     address,
		Source:      doc.Source,
		Resources:   map[string]*tfprotov5.Schema{},
		DataSources: map[string]*tfprotov5.Schema{},
	}
	var err error
	if p.Provider, err = convertSchema("provider", raw.Provider); err != nil {
		return nil, err
	}
	for name, s := range raw.Resources {
		if p.Resources[name], err = convertSchema("resource "+name, s); err != nil {
			return nil, err
		}
	}
	for name, s := range raw.DataSources {
		if p.DataSources[name], err = convertSchema("data source "+name, s); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func convertSchema(what string, s *jsonSchema) (*tfprotov5.Schema, error) {
	if s == nil || s.Block == nil {
		return &tfprotov5.Schema{Block: &tfprotov5.SchemaBlock{}}, nil
	}
	block, err := convertBlock(s.Block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &tfprotov5.Schema{Version: s.Version, Block: block}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func convertBlock(b *jsonBlock) (*tfprotov5.SchemaBlock, error) {
	out := &tfprotov5.SchemaBlock{Description: b.Description, Deprecated: b.Deprecated}
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		typ, err := attributeType(a)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name: name, Type: typ, Description: a.Description,
			Required: a.Required, Optional: a.Optional, Computed: a.Computed,
			Sensitive: a.Sensitive, Deprecated: a.Deprecated, WriteOnly: a.WriteOnly,
		})
	}
	for _, name := range sortedKeys(b.BlockTypes) {
		nb := b.BlockTypes[name]
		inner := nb.Block
		if inner == nil {
			inner = &jsonBlock{}
		}
		block, err := convertBlock(inner)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		mode, err := nestingMode(nb.NestingMode)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		if mode == tfprotov5.SchemaNestedBlockNestingModeSet && holdsDynamic(block) {
			// The engine refuses set blocks with a dynamic attribute at any depth (the extracted
			// schema types some deeply recursive arguments, e.g. WAFv2 statements, as dynamic):
			// serve them as list blocks, which take the same arguments.
			mode = tfprotov5.SchemaNestedBlockNestingModeList
		}
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name, Block: block, Nesting: mode, MinItems: nb.MinItems, MaxItems: nb.MaxItems,
		})
	}
	return out, nil
}

// holdsDynamic reports whether a block has an attribute whose type contains DynamicPseudoType,
// in itself or any nested block.
func holdsDynamic(b *tfprotov5.SchemaBlock) bool {
	for _, a := range b.Attributes {
		if typeHoldsDynamic(a.Type) {
			return true
		}
	}
	for _, nb := range b.BlockTypes {
		if holdsDynamic(nb.Block) {
			return true
		}
	}
	return false
}

func typeHoldsDynamic(t tftypes.Type) bool {
	switch tt := t.(type) {
	case tftypes.List:
		return typeHoldsDynamic(tt.ElementType)
	case tftypes.Set:
		return typeHoldsDynamic(tt.ElementType)
	case tftypes.Map:
		return typeHoldsDynamic(tt.ElementType)
	case tftypes.Object:
		for _, at := range tt.AttributeTypes {
			if typeHoldsDynamic(at) {
				return true
			}
		}
		return false
	case tftypes.Tuple:
		for _, et := range tt.ElementTypes {
			if typeHoldsDynamic(et) {
				return true
			}
		}
		return false
	}
	return t.Is(tftypes.DynamicPseudoType)
}

func nestingMode(mode string) (tfprotov5.SchemaNestedBlockNestingMode, error) {
	switch mode {
	case "single":
		return tfprotov5.SchemaNestedBlockNestingModeSingle, nil
	case "list":
		return tfprotov5.SchemaNestedBlockNestingModeList, nil
	case "set":
		return tfprotov5.SchemaNestedBlockNestingModeSet, nil
	case "map":
		return tfprotov5.SchemaNestedBlockNestingModeMap, nil
	case "group":
		return tfprotov5.SchemaNestedBlockNestingModeGroup, nil
	}
	return tfprotov5.SchemaNestedBlockNestingModeInvalid, fmt.Errorf("unknown nesting_mode %q", mode)
}

func attributeType(a *jsonAttribute) (tftypes.Type, error) {
	if a.NestedType == nil {
		if len(a.Type) == 0 {
			return nil, fmt.Errorf("neither type nor nested_type")
		}
		return ParseType(a.Type)
	}
	attrs := map[string]tftypes.Type{}
	for name, inner := range a.NestedType.Attributes {
		typ, err := attributeType(inner)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		attrs[name] = typ
	}
	obj := tftypes.Object{AttributeTypes: attrs}
	switch a.NestedType.NestingMode {
	case "single":
		return obj, nil
	case "list":
		return tftypes.List{ElementType: obj}, nil
	case "set":
		return tftypes.Set{ElementType: obj}, nil
	case "map":
		return tftypes.Map{ElementType: obj}, nil
	}
	return nil, fmt.Errorf("unknown nested_type nesting_mode %q", a.NestedType.NestingMode)
}

// ParseType converts cty's JSON type encoding ("string", ["list","number"],
// ["object",{"a":"bool"},["a"]], ...) to a tftypes.Type.
func ParseType(raw json.RawMessage) (tftypes.Type, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		switch name {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown primitive type %q", name)
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) < 2 {
		return nil, fmt.Errorf("type %s is neither a name nor [kind, ...]", raw)
	}
	if err := json.Unmarshal(parts[0], &name); err != nil {
		return nil, fmt.Errorf("type %s: kind is not a string", raw)
	}
	switch name {
	case "list", "set", "map":
		elem, err := ParseType(parts[1])
		if err != nil {
			return nil, err
		}
		switch name {
		case "list":
			return tftypes.List{ElementType: elem}, nil
		case "set":
			return tftypes.Set{ElementType: elem}, nil
		}
		return tftypes.Map{ElementType: elem}, nil
	case "object":
		var rawAttrs map[string]json.RawMessage
		if err := json.Unmarshal(parts[1], &rawAttrs); err != nil {
			return nil, fmt.Errorf("object type %s: %w", raw, err)
		}
		attrs := make(map[string]tftypes.Type, len(rawAttrs))
		for k, v := range rawAttrs {
			t, err := ParseType(v)
			if err != nil {
				return nil, fmt.Errorf("object attribute %s: %w", k, err)
			}
			attrs[k] = t
		}
		obj := tftypes.Object{AttributeTypes: attrs}
		if len(parts) > 2 {
			var names []string
			if err := json.Unmarshal(parts[2], &names); err != nil {
				return nil, fmt.Errorf("object type %s: optional attributes: %w", raw, err)
			}
			obj.OptionalAttributes = map[string]struct{}{}
			for _, n := range names {
				obj.OptionalAttributes[n] = struct{}{}
			}
		}
		return obj, nil
	case "tuple":
		var rawElems []json.RawMessage
		if err := json.Unmarshal(parts[1], &rawElems); err != nil {
			return nil, fmt.Errorf("tuple type %s: %w", raw, err)
		}
		elems := make([]tftypes.Type, len(rawElems))
		for i, v := range rawElems {
			t, err := ParseType(v)
			if err != nil {
				return nil, err
			}
			elems[i] = t
		}
		return tftypes.Tuple{ElementTypes: elems}, nil
	}
	return nil, fmt.Errorf("unknown type kind %q", name)
}
