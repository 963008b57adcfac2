package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestControlAPIRefusalsNameTheFieldAndItsRange: every bad request to the
// control API is answered with its status and one line that names the
// request, the field at fault and what it takes (the range, the slots in
// use, the fields there are), and changes nothing.
func TestControlAPIRefusalsNameTheFieldAndItsRange(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--slots", "4", "--", workerBin)
	p.waitReady(0, 0, 1)
	c := unixHTTP(sockPath(p.dir))
	for _, tt := range []struct {
		method, path, body string
		code               int
		answer             string // the whole error line
	}{
		{"GET", "/v1/nope", "", 404, `no such endpoint "/v1/nope" (the API has GET /v1/status, POST /v1/scale, POST /v1/restart, POST /v1/signal and POST /v1/stop)`},
		{"DELETE", "/v1/status", "", 405, `/v1/status needs GET, not DELETE`},
		{"GET", "/v1/restart", "", 405, `/v1/restart needs POST, not GET`},
		// Bodies that are not what the endpoint takes.
		{"POST", "/v1/scale", `{bad`, 400, `scale: the body is not JSON: invalid character 'b' looking for beginning of object key string (at byte 2)`},
		{"POST", "/v1/scale", `{"workers":`, 400, `scale: the body is not JSON: it ends before the value does`},
		{"POST", "/v1/scale", `{"workers": 1} {}`, 400, `scale: the body holds more than one JSON value; send one object`},
		{"POST", "/v1/scale", `{"workerz": 3}`, 400, `scale: unknown field "workerz" (the body takes "workers", "change" and "no_wait")`},
		{"POST", "/v1/scale", `{"workers": "3"}`, 400, `scale: "workers" must be a whole number, not a string`},
		{"POST", "/v1/restart", `{"slot": 1.5}`, 400, `restart: "slot" must be a whole number, not 1.5`},
		{"POST", "/v1/restart", `{"slot": 99999999999999999999}`, 400, `restart: "slot" is out of range: 99999999999999999999 is too large`},
		{"POST", "/v1/restart", `{"no_wait": 1}`, 400, `restart: "no_wait" must be true or false, not a number`},
		{"POST", "/v1/restart", `"x"`, 400, `restart: the body must be a JSON object, as {"slot": 0}, not a string`},
		{"POST", "/v1/stop", `[1]`, 400, `stop: the body must be a JSON object, as {}, not an array`},
		{"POST", "/v1/stop", `{"now": true}`, 400, `stop: unknown field "now" (the body takes no field; send {} or nothing)`},
		// scale: the number of workers runs from 1 to --slots.
		{"POST", "/v1/scale", `{}`, 400, `scale: give "workers": N (the number to run) or "change": K (how many to add, or remove if negative)`},
		{"POST", "/v1/scale", `{"workers": 3, "change": 1}`, 400, `scale: give "workers" or "change", not both`},
		{"POST", "/v1/scale", `{"workers": 0}`, 400, `scale: 0 workers: one is the minimum ("workers" runs from 1 to 4)`},
		{"POST", "/v1/scale", `{"workers": 5}`, 400, `scale: 5 is more than --slots 4 ("workers" runs from 1 to 4)`},
		{"POST", "/v1/scale", `{"change": -2}`, 400, `scale: -2 would leave fewer than one worker ("change" runs from -1 to +2 with 2 workers and --slots 4)`},
		{"POST", "/v1/scale", `{"change": 9223372036854775807}`, 400, `scale: +9223372036854775807 would make more than --slots 4 ("change" runs from -1 to +2 with 2 workers and --slots 4)`},
		// A slot runs from 0 to --slots - 1; one not in use is a conflict.
		{"POST", "/v1/restart", `{"slot": -1}`, 400, `restart: slot -1: slots count from 0 ("slot" runs from 0 to 3)`},
		{"POST", "/v1/restart", `{"slot": 4}`, 400, `restart: slot 4 is beyond --slots 4 ("slot" runs from 0 to 3)`},
		{"POST", "/v1/restart", `{"slot": 3}`, 409, `restart: slot 3 is not in use (slots in use: 0-1)`},
		{"POST", "/v1/signal", `{"signal": "HUP", "slot": -1}`, 400, `signal: slot -1: slots count from 0 ("slot" runs from 0 to 3)`},
		{"POST", "/v1/signal", `{"signal": "HUP", "slot": 2}`, 409, `signal: slot 2 is not in use (slots in use: 0-1)`},
		// signal: a name or a number.
		{"POST", "/v1/signal", `{"slot": -1}`, 400, `signal: "signal" is missing: give a name or number, as "HUP" or "1"`},
		{"POST", "/v1/signal", `{"signal": 1}`, 400, `signal: "signal" must be a string, not a number`},
		{"POST", "/v1/signal", `{"signal": "NOPE"}`, 400, `signal: "signal": unknown signal "NOPE" (try TERM, HUP, USR1 or a number)`},
		{"POST", "/v1/signal", `{"signal": "URG"}`, 400, `signal: "signal": URG is reserved: the Go runtime sends it to its own threads to preempt them`},
	} {
		req, err := http.NewRequest(tt.method, "http://slotrun"+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s %s: %v", tt.method, tt.path, tt.body, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `{"error":` + quoteJSON(tt.answer) + "}\n"
		if resp.StatusCode != tt.code || string(got) != want {
			t.Errorf("%s %s %s:\n got %d %s\nwant %d %s", tt.method, tt.path, tt.body, resp.StatusCode, got, tt.code, want)
		}
	}
	if st := statusOf(t, p.dir); st.Desired != 2 || len(st.Workers) != 2 {
		t.Errorf("refused requests changed something: %+v", st)
	}
}

// quoteJSON writes s as the server's JSON encoder does: a string with
// quotes escaped (the lines here hold no other character to escape).
func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
