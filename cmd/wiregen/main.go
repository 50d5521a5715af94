// Command wiregen generates the TRTC wire types, their schema table and
// openapi.yaml from the official Node SDK model definitions.
//
//	go run ./cmd/wiregen          # rewrite the generated files
//	go run ./cmd/wiregen -check   # fail if a committed file is stale
//
// Inputs (installed by "npm ci --prefix tools/npm"):
//   - the China SDK's trtc_models.d.ts: field types and which fields are required;
//   - the intl SDK's models.js and trtc_client.js: English docs, and the
//     actions the China SDK lacks (SetUserBlocked*);
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
}

// numericOverrides are the "number" fields that the Go SDKs do not type as
// *uint64. Go clients decode responses strictly, so these must match.
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

// Input files, relative to the repository root.
const (
	npmDir        = "tools/npm/node_modules"
	cnPkg         = npmDir + "/tencentcloud-sdk-nodejs"
	intlPkg       = npmDir + "/tencentcloud-sdk-nodejs-intl-en"
	cnModelsPath  = cnPkg + "/tencentcloud/services/trtc/v20190722/trtc_models.d.ts"
	intlModelPath = intlPkg + "/tencentcloud/trtc/v20190722/models.js"
	intlClientPth = intlPkg + "/tencentcloud/trtc/v20190722/trtc_client.js"
	cnClientPath  = cnPkg + "/tencentcloud/services/trtc/v20190722/trtc_client.d.ts"
	controlPath   = "cmd/wiregen/control.yaml"
)

// Output files, relative to the repository root.
const (
	typesOut   = "wire/types_gen.go"
	schemaOut  = "wire/schema_gen.go"
	openapiOut = "openapi.yaml"
)

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

var outputNames = []string{typesOut, schemaOut, openapiOut}

// generate reads the inputs below root and returns the content of every
// output file by its path relative to root.
func generate(root string) (map[string][]byte, error) {
	src, control, err := readInputs(root)
	if err != nil {
		return nil, err
	}
	m, err := buildModel(src, actions, numericOverrides)
	if err != nil {
		return nil, err
	}
	types, err := genTypes(m)
	if err != nil {
		return nil, err
	}
	schema, err := genSchema(m)
	if err != nil {
		return nil, err
	}
	openapi, err := genOpenAPI(m, control)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{typesOut: types, schemaOut: schema, openapiOut: openapi}, nil
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

func readInputs(root string) (sources, []byte, error) {
	if _, err := os.Stat(filepath.Join(root, npmDir)); errors.Is(err, fs.ErrNotExist) {
		return sources{}, nil, errNoNodeModules
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
		CNModels:    read(cnModelsPath),
		IntlModels:  read(intlModelPath),
		IntlClient:  read(intlClientPth),
		CNClient:    read(cnClientPath),
		CNVersion:   version(cnPkg),
		IntlVersion: version(intlPkg),
	}
	control := []byte(read(controlPath))
	if err := errors.Join(errs...); err != nil {
		return sources{}, nil, err
	}
	return src, control, nil
}
