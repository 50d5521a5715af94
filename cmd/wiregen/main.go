// Command wiregen generates the wire types of the TRTC and CAM APIs (packages
// wire and wire/camwire), their schema tables and openapi.yaml from the
// official Node SDK model definitions.
//
//	go run ./cmd/wiregen          # rewrite the generated files
//	go run ./cmd/wiregen -check   # fail if a committed file is stale
//
// Inputs (installed by "npm ci --prefix tools/npm"), for each service:
//   - the China SDK's <service>_models.d.ts: field types and which fields are required;
//   - the intl SDK's models.js and <service>_client.js: English docs, and the
//     actions the China SDK lacks (SetUserBlocked*);
//   - the China SDK's <service>_client.d.ts: the other actions of the service, and
//     the docs of the served actions that the intl client lacks altogether (the
//     legacy MCU actions; an action the intl client has must be documented there);
//   - cmd/wiregen/control.yaml: the hand-written control API, merged into openapi.yaml.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// actions are the TRTC actions the emulator serves
// (/work/shared/spec/api-contract.md, "## Actions").
var actions = []string{
	"CreateCloudRecording",
	"DescribeCloudRecording",
	"ModifyCloudRecording",
	"DeleteCloudRecording",
	"StartStreamIngest",
	"UpdateStreamIngest",
	"StopStreamIngest",
	"DescribeStreamIngest",
	"StartPublishCdnStream",
	"UpdatePublishCdnStream",
	"StopPublishCdnStream",
	"DismissRoom",
	"RemoveUser",
	"DismissRoomByStrRoomId",
	"RemoveUserByStrRoomId",
	"SetUserBlocked",
	"SetUserBlockedByStrRoomId",
	"DescribeRoomInfo",
	"DescribeUserInfo",
	"DescribeUserEvent",
	"DescribeCallDetailInfo",
	"DescribeRecordingUsage",
	"DescribeRelayUsage",
	"DescribeTrtcUsage",
	// The legacy MCU actions (handlers/mcu.go). Only the China SDK has them: their
	// docs are its Chinese ones.
	"StartMCUMixTranscode",
	"StopMCUMixTranscode",
	"StartMCUMixTranscodeByStrRoomId",
	"StopMCUMixTranscodeByStrRoomId",
}

// numericOverrides are the "number" fields that the Go SDKs do not type as
// *uint64. Go clients decode responses strictly, so these must match. The
// legacy MCU structs have none: every number of StartMCUMixTranscodeRequest,
// OutputParams, EncodeParams, LayoutParams, SmallVideoLayoutParams,
// PresetLayoutConfig, WaterMarkParams and PublishCdnParams is *uint64 in
// tencentcloud-sdk-go's trtc/v20190722/models.go.
// Sources: tencentcloud-sdk-go-intl-en v3.0.1335 (the release of the intl
// Node SDK we read) and, for China-only fields, tencentcloud-sdk-go v1.3.166,
// both tencentcloud/trtc/v20190722/models.go.
var numericOverrides = map[string]kind{
	// intl: StartStreamIngestRequestParams: SeekSecond *int64
	"StartStreamIngestRequest.SeekSecond": kInt,
	// intl: StartStreamIngestRequestParams: RepeatNum *int64 (-1 loops forever)
	"StartStreamIngestRequest.RepeatNum": kInt,
	// intl: StartStreamIngestRequestParams: MaxDuration *int64
	"StartStreamIngestRequest.MaxDuration": kInt,
	// China: StartStreamIngestRequestParams: Tempo *float64 (0.5 … 2.0)
	"StartStreamIngestRequest.Tempo": kFloat,
	// China: StartStreamIngestRequestParams: IdleTimeout *int64
	"StartStreamIngestRequest.IdleTimeout": kInt,
	// China: UpdateStreamIngestRequestParams: Tempo *float64
	"UpdateStreamIngestRequest.Tempo": kFloat,
	// intl: DescribeRoomInfoResponseParams: Total *int64
	"DescribeRoomInfoResponse.Total": kInt,
	// intl: EventMessage: ParamOne *int64
	"EventMessage.ParamOne": kInt,
	// intl: EventMessage: ParamTwo *int64
	"EventMessage.ParamTwo": kInt,
	// intl: TimeValue: Value *float64
	"TimeValue.Value": kFloat,
	// intl: TrtcUsage: UsageValue []*float64
	"TrtcUsage.UsageValue": kFloat,
}

// camActions are the CAM actions the emulator serves
// (/work/shared/research/api-protocol.md, "## 6. CAM").
var camActions = []string{
	"AddUser",
	"GetUser",
	"ListUsers",
	"UpdateUser",
	"DeleteUser",
	"CreateAccessKey",
	"ListAccessKeys",
	"UpdateAccessKey",
	"DeleteAccessKey",
	"CreatePolicy",
	"GetPolicy",
	"ListPolicies",
	"DeletePolicy",
	"AttachUserPolicy",
	"DetachUserPolicy",
	"ListAttachedUserPolicies",
	"GetUserAppId",
}

// camNumericOverrides are the CAM "number" fields that the Go SDK does not
// type as *uint64. None of the served actions has one (api-protocol.md §6:
// Uin, Uid, PolicyId, AttachUin, DetachUin, TargetUin, Page, Rp, TotalNum,
// ConsoleLogin, UseApi, Type, … are u64). Checked against tencentcloud-sdk-go
// v1.0.162 tencentcloud/cam/v20190116/models.go (every field it has), and the
// current TencentCloud/tencentcloud-sdk-go for later fields:
// CreateAccessKeyRequestParams.TargetUin, DeleteAccessKeyRequestParams.TargetUin
// and GetUserAppIdResponseParams.AppId are *uint64. The SDK's exceptions are
// outside our actions: ListAttachedUserAllPolicies' PolicyId is a string in
// the SDK models themselves, and Get/PutUserPermissionBoundary use *int64.
var camNumericOverrides = map[string]kind{}

// A service is one Tencent Cloud API whose wire package wiregen generates.
type service struct {
	Name    string // service name of API 3.0, e.g. "trtc"
	Title   string // for doc comments, e.g. "TRTC"
	Version string // API version, e.g. "2019-07-22"
	Package string // Go package name of the output
	Dir     string // output directory, relative to the repository root
	// Import is the import path of package wire when Package is not wire:
	// the generated schema then qualifies Action, Struct, Field and Kind*.
	Import    string
	Actions   []string
	Overrides map[string]kind
	// ComponentPrefix is put before the names of this service's openapi.yaml
	// schemas that an earlier service or control.yaml already uses.
	ComponentPrefix string
	// Input files, relative to the repository root.
	CNModels, CNClient, IntlModels, IntlClient string
}

func (s *service) typesOut() string  { return s.Dir + "/types_gen.go" }
func (s *service) schemaOut() string { return s.Dir + "/schema_gen.go" }

// Input files, relative to the repository root.
const (
	npmDir      = "tools/npm/node_modules"
	cnPkg       = npmDir + "/tencentcloud-sdk-nodejs"
	intlPkg     = npmDir + "/tencentcloud-sdk-nodejs-intl-en"
	controlPath = "cmd/wiregen/control.yaml"
)

// modulePath is the import path of this repository.
const modulePath = "github.com/trtc-emulator/trtc-emulator"

// services are generated in this order; openapi.yaml lists them all. The
// first one keeps its schema names unprefixed.
var services = []*service{
	{
		Name: "trtc", Title: "TRTC", Version: "2019-07-22", Package: "wire", Dir: "wire",
		Actions: actions, Overrides: numericOverrides,
		CNModels:   cnPkg + "/tencentcloud/services/trtc/v20190722/trtc_models.d.ts",
		CNClient:   cnPkg + "/tencentcloud/services/trtc/v20190722/trtc_client.d.ts",
		IntlModels: intlPkg + "/tencentcloud/trtc/v20190722/models.js",
		IntlClient: intlPkg + "/tencentcloud/trtc/v20190722/trtc_client.js",
	},
	{
		Name: "cam", Title: "CAM", Version: "2019-01-16", Package: "camwire", Dir: "wire/camwire",
		Import:  modulePath + "/wire",
		Actions: camActions, Overrides: camNumericOverrides, ComponentPrefix: "Cam",
		CNModels:   cnPkg + "/tencentcloud/services/cam/v20190116/cam_models.d.ts",
		CNClient:   cnPkg + "/tencentcloud/services/cam/v20190116/cam_client.d.ts",
		IntlModels: intlPkg + "/tencentcloud/cam/v20190116/models.js",
		IntlClient: intlPkg + "/tencentcloud/cam/v20190116/cam_client.js",
	},
}

// openapiOut is the output file shared by all services.
const openapiOut = "openapi.yaml"

// errNoNodeModules means the SDK packages are not installed.
var errNoNodeModules = errors.New(npmDir + " is missing: run `npm ci --prefix tools/npm` (or `make deps`)")

func main() {
	root := flag.String("root", ".", "repository root")
	check := flag.Bool("check", false, "compare the generated files with the committed ones instead of writing them")
	flag.Parse()
	files, err := generate(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wiregen:", err)
		os.Exit(1)
	}
	if *check {
		stale := staleFiles(*root, files)
		for _, name := range stale {
			fmt.Fprintf(os.Stderr, "wiregen: %s is stale; run `go run ./cmd/wiregen`\n", name)
		}
		if len(stale) > 0 {
			os.Exit(1)
		}
		return
	}
	for _, name := range outputNames {
		if err := os.WriteFile(filepath.Join(*root, name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "wiregen:", err)
			os.Exit(1)
		}
	}
}

// outputNames are the generated files, relative to the repository root.
var outputNames = func() []string {
	var out []string
	for _, svc := range services {
		out = append(out, svc.typesOut(), svc.schemaOut())
	}
	return append(out, openapiOut)
}()

// A serviceModel is a service and the model built from its SDK files.
type serviceModel struct {
	svc *service
	m   *model
}

// generate reads the inputs below root and returns the content of every
// output file by its path relative to root.
func generate(root string) (map[string][]byte, error) {
	control, err := readControl(root)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var all []serviceModel
	for _, svc := range services {
		m, err := buildServiceModel(root, svc)
		if err != nil {
			return nil, err
		}
		types, err := genTypes(svc, m)
		if err != nil {
			return nil, err
		}
		schema, err := genSchema(svc, m)
		if err != nil {
			return nil, err
		}
		files[svc.typesOut()], files[svc.schemaOut()] = types, schema
		all = append(all, serviceModel{svc, m})
	}
	openapi, err := genOpenAPI(all, control)
	if err != nil {
		return nil, err
	}
	files[openapiOut] = openapi
	return files, nil
}

// buildServiceModel reads the SDK files of svc below root and builds its model.
func buildServiceModel(root string, svc *service) (*model, error) {
	src, err := readSources(root, svc)
	if err != nil {
		return nil, err
	}
	m, err := buildModel(src, svc.Actions, svc.Overrides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", svc.Name, err)
	}
	return m, nil
}

// staleFiles lists the outputs whose committed content differs from files.
func staleFiles(root string, files map[string][]byte) []string {
	var stale []string
	for _, name := range outputNames {
		old, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || !bytes.Equal(old, files[name]) {
			stale = append(stale, name)
		}
	}
	return stale
}

func readControl(root string) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(root, npmDir)); errors.Is(err, fs.ErrNotExist) {
		return nil, errNoNodeModules
	}
	return os.ReadFile(filepath.Join(root, controlPath))
}

func readSources(root string, svc *service) (sources, error) {
	if _, err := os.Stat(filepath.Join(root, npmDir)); errors.Is(err, fs.ErrNotExist) {
		return sources{}, errNoNodeModules
	}
	var errs []error
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		errs = append(errs, err)
		return string(b)
	}
	version := func(pkg string) string {
		var meta struct{ Version string }
		if err := json.Unmarshal([]byte(read(pkg+"/package.json")), &meta); err != nil || meta.Version == "" {
			errs = append(errs, fmt.Errorf("%s/package.json: no version", pkg))
		}
		return meta.Version
	}
	src := sources{
		CNModels:    read(svc.CNModels),
		IntlModels:  read(svc.IntlModels),
		IntlClient:  read(svc.IntlClient),
		CNClient:    read(svc.CNClient),
		CNVersion:   version(cnPkg),
		IntlVersion: version(intlPkg),
	}
	if err := errors.Join(errs...); err != nil {
		return sources{}, err
	}
	return src, nil
}
