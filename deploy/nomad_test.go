package deploy_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

const nomadJob = "nomad/app.nomad.hcl"

// nomadBlock finds the single block of type typ in body.
func nomadBlock(t *testing.T, body *hclsyntax.Body, typ string) *hclsyntax.Block {
	t.Helper()
	var found *hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			if found != nil {
				t.Fatalf("%s: two %s blocks; the example has one", nomadJob, typ)
			}
			found = b
		}
	}
	if found == nil {
		t.Fatalf("%s: no %s block", nomadJob, typ)
	}
	return found
}

// nomadValue evaluates an attribute of body, with the runtime variables
// Nomad interpolates given the values in vars.
func nomadValue(t *testing.T, body *hclsyntax.Body, name string, vars map[string]cty.Value) cty.Value {
	t.Helper()
	a := body.Attributes[name]
	if a == nil {
		t.Fatalf("%s: %s is not set", nomadJob, name)
	}
	for _, tr := range a.Expr.Variables() {
		if _, ok := vars[tr.RootName()]; !ok {
			t.Errorf("%s: %s refers to %s, which is no runtime variable of this test", nomadJob, name, tr.RootName())
		}
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{Variables: vars})
	if diags.HasErrors() {
		t.Fatalf("%s: %s: %v", nomadJob, name, diags)
	}
	return v
}

func nomadString(t *testing.T, body *hclsyntax.Body, name string) string {
	t.Helper()
	v := nomadValue(t, body, name, nil)
	if v.Type() != cty.String {
		t.Fatalf("%s: %s is not a string", nomadJob, name)
	}
	return v.AsString()
}

func TestNomadJob(t *testing.T) {
	src, err := os.ReadFile(nomadJob)
	if err != nil {
		t.Fatal(err)
	}
	file, diags := hclsyntax.ParseConfig(src, nomadJob, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s is not HCL: %v", nomadJob, diags)
	}
	job := nomadBlock(t, file.Body.(*hclsyntax.Body), "job")
	group := nomadBlock(t, job.Body, "group")
	task := nomadBlock(t, group.Body, "task")
	config := nomadBlock(t, task.Body, "config")

	count := nomadValue(t, group.Body, "count", nil)
	n, _ := count.AsBigFloat().Int64()
	if nomadString(t, task.Body, "driver") != "docker" {
		t.Errorf("the task's driver is not docker: its config.args would not be the image's ENTRYPOINT's")
	}

	// Allocation K's slotrun gets --ordinal K: evaluate the args as Nomad
	// would in each allocation.
	var inv invocation
	for k := range n {
		// Nomad's runtime variables are strings.
		index := strconv.FormatInt(k, 10)
		argv := nomadValue(t, config.Body, "args", map[string]cty.Value{"NOMAD_ALLOC_INDEX": cty.StringVal(index)})
		var args []string
		for it := argv.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.Type() != cty.String {
				t.Fatalf("config.args holds %s, not a string", v.Type().FriendlyName())
			}
			args = append(args, v.AsString())
		}
		inv = parseArgs(t, nomadJob, args)
		if got, want := inv.value("ordinal"), index; got != want {
			t.Errorf("allocation %d: --ordinal %q; want %s, from ${NOMAD_ALLOC_INDEX}", k, got, want)
		}
	}
	if got := inv.number(t, "replicas"); int64(got) != n {
		t.Errorf("--replicas %d, but the group's count is %d", got, n)
	}
	if !inv.has("slots") {
		t.Errorf("--slots is not set: its default follows the CPUs, which may differ between allocations, and so would their id ranges")
	}
	if inv.command[0] != dockerfile(t).command[0] {
		t.Errorf("worker command %q; the image's server is %q", inv.command, dockerfile(t).command)
	}

	// A canary would run a second allocation with an index already in use.
	if update := nomadBlock(t, group.Body, "update"); nomadValue(t, update.Body, "canary", nil).AsBigFloat().Sign() != 0 {
		t.Errorf("update.canary is not 0: a canary shares an allocation index, and so the ids, of a running allocation")
	}

	// Stopping: Nomad's kill_timeout must cover slotrun's own stop.
	kill, err := time.ParseDuration(nomadString(t, task.Body, "kill_timeout"))
	if err != nil {
		t.Fatalf("kill_timeout: %v", err)
	}
	delay := inv.duration(t, "shutdown-delay", defaultShutdownDelay)
	stop := inv.duration(t, "stop-timeout", defaultStopTimeout)
	if kill <= delay+stop {
		t.Errorf("kill_timeout %s is not more than --shutdown-delay %s + --stop-timeout %s: Nomad would SIGKILL slotrun before it is done", kill, delay, stop)
	}
	if sig := nomadString(t, task.Body, "kill_signal"); sig != "SIGTERM" && sig != "SIGINT" {
		t.Errorf("kill_signal %s; slotrun stops gracefully on SIGTERM or SIGINT", sig)
	}

	// The health check asks slotrun's /readyz on its --http port.
	service := nomadBlock(t, group.Body, "service")
	check := nomadBlock(t, service.Body, "check")
	if path := nomadString(t, check.Body, "path"); path != "/readyz" {
		t.Errorf("the service check asks %s; want /readyz", path)
	}
	label := nomadString(t, service.Body, "port")
	network := nomadBlock(t, group.Body, "network")
	to := -1
	for _, b := range network.Body.Blocks {
		if b.Type == "port" && len(b.Labels) == 1 && b.Labels[0] == label {
			v := nomadValue(t, b.Body, "to", nil)
			n, _ := v.AsBigFloat().Int64()
			to = int(n)
		}
	}
	if want := port(t, inv.value("http")); to != want {
		t.Errorf("the service's port %q maps to %d in the container; slotrun serves --http %s", label, to, inv.value("http"))
	}
}
