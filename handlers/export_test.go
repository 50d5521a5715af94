package handlers

import (
	"sort"

	"github.com/trtc-emulator/trtc-emulator/wire"
)

// ActionTable lists the action tables of trtc 2019-07-22 and cam 2019-01-16 for the tests of
// package handlers_test: each action's name and the name of its request struct, sorted by
// name. The SDKs' other actions (no schema, always UnsupportedOperation) are left out.
func ActionTable() (names, requests []string) {
	all := map[string]string{}
	for _, table := range []map[string]action{trtcActions, camActions} {
		for name, a := range table {
			if a.request != "" {
				all[name] = a.request
			}
		}
	}
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		requests = append(requests, all[name])
	}
	return names, requests
}

// Implemented reports whether an action of the tables has a handler (the others answer
// UnsupportedOperation).
func Implemented(name string) bool {
	if a, ok := trtcActions[name]; ok {
		return a.run != nil
	}
	a, ok := camActions[name]
	return ok && a.run != nil
}

// ActionSchema is the structs an action's request is checked against (wire's or camwire's).
func ActionSchema(name string) map[string]*wire.Struct {
	if a, ok := trtcActions[name]; ok {
		return a.schema
	}
	return camActions[name].schema
}
