package awsschema

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// attrFunc decides the value of one attribute of a block; it gets the attribute's schema and
// current value and returns the value to keep.
type attrFunc func(a *tfprotov5.SchemaAttribute, v tftypes.Value) (tftypes.Value, error)

// walkBlock rebuilds an object value of block b, applying f to every attribute of it and of
// every nested block, at any depth. Null and unknown objects are returned as they are.
func walkBlock(b *tfprotov5.SchemaBlock, v tftypes.Value, f attrFunc) (tftypes.Value, error) {
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	var fields map[string]tftypes.Value
	if err := v.As(&fields); err != nil {
		return v, err
	}
	out := make(map[string]tftypes.Value, len(fields))
	for k, fv := range fields {
		out[k] = fv
	}
	for _, a := range b.Attributes {
		fv, ok := fields[a.Name]
		if !ok {
			continue
		}
		nv, err := f(a, fv)
		if err != nil {
			return v, fmt.Errorf("%s: %w", a.Name, err)
		}
		out[a.Name] = nv
	}
	for _, nb := range b.BlockTypes {
		fv, ok := fields[nb.TypeName]
		if !ok {
			continue
		}
		nv, err := walkNested(nb, fv, f)
		if err != nil {
			return v, fmt.Errorf("%s: %w", nb.TypeName, err)
		}
		out[nb.TypeName] = nv
	}
	return tftypes.NewValue(v.Type(), out), nil
}

func walkNested(nb *tfprotov5.SchemaNestedBlock, v tftypes.Value, f attrFunc) (tftypes.Value, error) {
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	switch nb.Nesting {
	case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
		return walkBlock(nb.Block, v, f)
	case tfprotov5.SchemaNestedBlockNestingModeMap:
		var elems map[string]tftypes.Value
		if err := v.As(&elems); err != nil {
			return v, err
		}
		out := make(map[string]tftypes.Value, len(elems))
		for k, e := range elems {
			ne, err := walkBlock(nb.Block, e, f)
			if err != nil {
				return v, err
			}
			out[k] = ne
		}
		return tftypes.NewValue(v.Type(), out), nil
	}
	var elems []tftypes.Value
	if err := v.As(&elems); err != nil {
		return v, err
	}
	out := make([]tftypes.Value, len(elems))
	for i, e := range elems {
		ne, err := walkBlock(nb.Block, e, f)
		if err != nil {
			return v, err
		}
		out[i] = ne
	}
	return tftypes.NewValue(v.Type(), out), nil
}

// MarkComputedUnknown sets every null computed attribute of a planned object (block b, nested
// blocks included) to unknown: what a real provider leaves for apply to fill in.
func MarkComputedUnknown(b *tfprotov5.SchemaBlock, v tftypes.Value) (tftypes.Value, error) {
	return walkBlock(b, v, func(a *tfprotov5.SchemaAttribute, fv tftypes.Value) (tftypes.Value, error) {
		if a.Computed && fv.IsNull() {
			return tftypes.NewValue(fv.Type(), tftypes.UnknownValue), nil
		}
		return fv, nil
	})
}

// FillComputed sets every null computed attribute of a data source's result to a known value:
// special(name) when it gives one for a top-level attribute, else Placeholder of its type.
func FillComputed(b *tfprotov5.SchemaBlock, v tftypes.Value, special map[string]tftypes.Value) (tftypes.Value, error) {
	top := map[*tfprotov5.SchemaAttribute]bool{}
	for _, a := range b.Attributes {
		top[a] = true
	}
	return walkBlock(b, v, func(a *tfprotov5.SchemaAttribute, fv tftypes.Value) (tftypes.Value, error) {
		if !a.Computed || !fv.IsNull() {
			return fv, nil
		}
		if s, ok := special[a.Name]; ok && top[a] {
			return s, nil
		}
		return Placeholder(a.Type), nil
	})
}

// Placeholder is a wholly known stand-in of type t: "placeholder", 0, false, empty collections,
// objects and tuples of placeholders.
func Placeholder(t tftypes.Type) tftypes.Value {
	switch {
	case t.Is(tftypes.String), t.Is(tftypes.DynamicPseudoType):
		return tftypes.NewValue(tftypes.String, "placeholder")
	case t.Is(tftypes.Number):
		return tftypes.NewValue(tftypes.Number, new(big.Float))
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(tftypes.Bool, false)
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		return tftypes.NewValue(t, []tftypes.Value{})
	case t.Is(tftypes.Map{}):
		return tftypes.NewValue(t, map[string]tftypes.Value{})
	case t.Is(tftypes.Tuple{}):
		tt := t.(tftypes.Tuple)
		elems := make([]tftypes.Value, len(tt.ElementTypes))
		for i, et := range tt.ElementTypes {
			elems[i] = Placeholder(et)
		}
		return tftypes.NewValue(t, elems)
	case t.Is(tftypes.Object{}):
		ot := t.(tftypes.Object)
		fields := make(map[string]tftypes.Value, len(ot.AttributeTypes))
		for k, at := range ot.AttributeTypes {
			fields[k] = Placeholder(at)
		}
		return tftypes.NewValue(t, fields)
	}
	return tftypes.NewValue(t, nil)
}
