package handlers

import "sort"

// TRTCActionTable lists the action table of trtc 2019-07-22 for the tests of package
// handlers_test: each action's name and the name of its request struct, sorted by name.
// The SDK's other actions (no schema, always UnsupportedOperation) are left out.
func TRTCActionTable() (names, requests []string) {
	for name, a := range trtcActions {
		if a.request != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		requests = append(requests, trtcActions[name].request)
	}
	return names, requests
}

// TRTCImplemented reports whether an action of the table has a handler (the others
// answer UnsupportedOperation).
func TRTCImplemented(name string) bool {
	a, ok := trtcActions[name]
	return ok && a.run != nil
}
