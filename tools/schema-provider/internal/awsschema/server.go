package awsschema

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// DefaultRegion is the region when neither the provider block nor the environment sets one.
const DefaultRegion = "us-east-1"

// OfflineOnly is the message of every refused apply and import.
const OfflineOnly = "this is logferry's offline schema provider: it serves the hashicorp/aws schema " +
	"to validate and plan without network or credentials, and never calls AWS. Nothing was created " +
	"or imported. `make deploy` (or terraform/tofu without the offline CLI config) uses the real " +
	"hashicorp/aws provider from the registry."

// Server is the offline hashicorp/aws: real schema, plans with computed values unknown.
type Server struct {
	schema *Provider
	region string
}

// NewServer serves the given schemas.
func NewServer(p *Provider) *Server { return &Server{schema: p, region: DefaultRegion} }

// Region is the region the last ConfigureProvider settled on.
func (s *Server) Region() string { return s.region }

func errorDiag(summary, detail string) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: summary, Detail: detail}}
}

func (s *Server) resource(name string) (*tfprotov5.Schema, []*tfprotov5.Diagnostic) {
	if sc, ok := s.schema.Resources[name]; ok {
		return sc, nil
	}
	return nil, errorDiag("Unknown resource type", fmt.Sprintf("%s is not in the %s schema", name, s.schema.Address))
}

func (s *Server) dataSource(name string) (*tfprotov5.Schema, []*tfprotov5.Diagnostic) {
	if sc, ok := s.schema.DataSources[name]; ok {
		return sc, nil
	}
	return nil, errorDiag("Unknown data source", fmt.Sprintf("%s is not in the %s schema", name, s.schema.Address))
}

func decode(what string, dv *tfprotov5.DynamicValue, typ tftypes.Type) (tftypes.Value, []*tfprotov5.Diagnostic) {
	if dv == nil {
		return tftypes.NewValue(typ, nil), nil
	}
	v, err := dv.Unmarshal(typ)
	if err != nil {
		return v, errorDiag("Cannot decode "+what, err.Error())
	}
	return v, nil
}

func encode(what string, v tftypes.Value, typ tftypes.Type) (*tfprotov5.DynamicValue, []*tfprotov5.Diagnostic) {
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, errorDiag("Cannot encode "+what, err.Error())
	}
	return &dv, nil
}

func (s *Server) capabilities() *tfprotov5.ServerCapabilities {
	return &tfprotov5.ServerCapabilities{GetProviderSchemaOptional: true}
}

// GetMetadata lists the resource and data source types.
func (s *Server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: s.capabilities()}
	for _, name := range sortedKeys(s.schema.Resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: name})
	}
	for _, name := range sortedKeys(s.schema.DataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

// GetProviderSchema serves the provider block, resource and data source schemas.
func (s *Server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	return &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities:       s.capabilities(),
		Provider:                 s.schema.Provider,
		ProviderMeta:             &tfprotov5.Schema{Block: &tfprotov5.SchemaBlock{}},
		ResourceSchemas:          s.schema.Resources,
		DataSourceSchemas:        s.schema.DataSources,
		Functions:                map[string]*tfprotov5.Function{},
		EphemeralResourceSchemas: map[string]*tfprotov5.Schema{},
	}, nil
}

// GetResourceIdentitySchemas: none.
func (s *Server) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov5.ResourceIdentitySchema{}}, nil
}

// PrepareProviderConfig accepts the configuration as it is.
func (s *Server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

// ConfigureProvider remembers the region: the block's `region`, else AWS_REGION,
// AWS_DEFAULT_REGION, else us-east-1. Credentials are never looked at.
func (s *Server) ConfigureProvider(_ context.Context, req *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	config, diags := decode("provider configuration", req.Config, s.schema.Provider.ValueType())
	if diags != nil {
		return &tfprotov5.ConfigureProviderResponse{Diagnostics: diags}, nil
	}
	s.region = ""
	if r := stringOf(objectFields(config)["region"]); r != "" {
		s.region = r
	}
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if s.region == "" {
			s.region = os.Getenv(env)
		}
	}
	if s.region == "" {
		s.region = DefaultRegion
	}
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

// StopProvider has nothing to stop.
func (s *Server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

// ValidateResourceTypeConfig adds nothing: the engine checks the configuration against the schema.
func (s *Server) ValidateResourceTypeConfig(_ context.Context, req *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	_, diags := s.resource(req.TypeName)
	return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: diags}, nil
}

// ValidateDataSourceConfig adds nothing either.
func (s *Server) ValidateDataSourceConfig(_ context.Context, req *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	_, diags := s.dataSource(req.TypeName)
	return &tfprotov5.ValidateDataSourceConfigResponse{Diagnostics: diags}, nil
}

// UpgradeResourceState decodes the stored JSON state per the current schema.
func (s *Server) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	sc, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: diags}, nil
	}
	typ := sc.ValueType()
	if req.RawState == nil || req.RawState.JSON == nil {
		return &tfprotov5.UpgradeResourceStateResponse{
			Diagnostics: errorDiag("Cannot upgrade state", req.TypeName+": only JSON state is supported")}, nil
	}
	v, err := req.RawState.UnmarshalWithOpts(typ, tfprotov5.UnmarshalOpts{
		ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true}})
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiag("Cannot decode state of "+req.TypeName, err.Error())}, nil
	}
	dv, diags := encode("state", v, typ)
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: dv, Diagnostics: diags}, nil
}

// ReadResource returns the state unchanged.
func (s *Server) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

// PlanResourceChange: a create plans the proposed state with every null computed attribute
// unknown (nested blocks too); an update plans the proposed state; a destroy plans null.
func (s *Server) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	sc, diags := s.resource(req.TypeName)
	if diags != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: diags}, nil
	}
	typ := sc.ValueType()
	prior, diags := decode("prior state", req.PriorState, typ)
	if diags != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: diags}, nil
	}
	proposed, diags := decode("proposed new state", req.ProposedNewState, typ)
	if diags != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: diags}, nil
	}
	planned := proposed
	if prior.IsNull() && !proposed.IsNull() {
		var err error
		if planned, err = MarkComputedUnknown(sc.Block, proposed); err != nil {
			return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiag("Cannot plan "+req.TypeName, err.Error())}, nil
		}
	}
	dv, diags := encode("planned state", planned, typ)
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: dv, PlannedPrivate: req.PriorPrivate, Diagnostics: diags}, nil
}

// ApplyResourceChange is refused.
func (s *Server) ApplyResourceChange(_ context.Context, req *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{
		Diagnostics: errorDiag("Offline provider: cannot apply "+req.TypeName, OfflineOnly)}, nil
}

// ImportResourceState is refused.
func (s *Server) ImportResourceState(_ context.Context, req *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{
		Diagnostics: errorDiag("Offline provider: cannot import "+req.TypeName, OfflineOnly)}, nil
}

// MoveResourceState is not supported.
func (s *Server) MoveResourceState(_ context.Context, req *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{
		Diagnostics: errorDiag("Offline provider: cannot move state to "+req.TargetTypeName, OfflineOnly)}, nil
}

// UpgradeResourceIdentity is not supported (no identity schemas).
func (s *Server) UpgradeResourceIdentity(_ context.Context, req *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{
		Diagnostics: errorDiag("Unsupported", req.TypeName+": the offline provider has no resource identities")}, nil
}

// GenerateResourceConfig is not supported.
func (s *Server) GenerateResourceConfig(_ context.Context, req *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{
		Diagnostics: errorDiag("Unsupported", req.TypeName+": the offline provider does not generate configuration")}, nil
}

// ReadDataSource returns the configuration with every null computed attribute known:
// placeholders, and the region, account and partition modules build names and ARNs from.
func (s *Server) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	sc, diags := s.dataSource(req.TypeName)
	if diags != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: diags}, nil
	}
	typ := sc.ValueType()
	config, diags := decode("data source configuration", req.Config, typ)
	if diags != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: diags}, nil
	}
	state, err := FillComputed(sc.Block, config, dataSourceSpecials(req.TypeName, s.region, config))
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiag("Cannot read "+req.TypeName, err.Error())}, nil
	}
	dv, diags := encode("data source state", state, typ)
	return &tfprotov5.ReadDataSourceResponse{State: dv, Diagnostics: diags}, nil
}

// CallFunction: the offline provider has no functions.
func (s *Server) CallFunction(_ context.Context, req *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: req.Name + ": the offline provider has no functions"}}, nil
}

// GetFunctions: none.
func (s *Server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

// ValidateEphemeralResourceConfig: no ephemeral resources are served.
func (s *Server) ValidateEphemeralResourceConfig(_ context.Context, req *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{Diagnostics: errorDiag("Unsupported", req.TypeName+": no ephemeral resources offline")}, nil
}

// OpenEphemeralResource: no ephemeral resources are served.
func (s *Server) OpenEphemeralResource(_ context.Context, req *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: errorDiag("Unsupported", req.TypeName+": no ephemeral resources offline")}, nil
}

// RenewEphemeralResource: no ephemeral resources are served.
func (s *Server) RenewEphemeralResource(_ context.Context, req *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: errorDiag("Unsupported", req.TypeName+": no ephemeral resources offline")}, nil
}

// CloseEphemeralResource: no ephemeral resources are served.
func (s *Server) CloseEphemeralResource(_ context.Context, req *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{Diagnostics: errorDiag("Unsupported", req.TypeName+": no ephemeral resources offline")}, nil
}

// Summary is a one-line description of what is served, for --version style output.
func (p *Provider) Summary() string {
	return fmt.Sprintf("%s %s (from %s %s): %d resources, %d data sources",
		p.Address, p.Source.ProviderVersion, p.Source.Package, p.Source.Version, len(p.Resources), len(p.DataSources))
}

var _ tfprotov5.ProviderServer = (*Server)(nil)
