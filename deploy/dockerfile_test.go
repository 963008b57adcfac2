package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// instruction is one line of a Dockerfile, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: the last instruction ends with a \\", path)
	}
	return out
}

// image is what the Dockerfile's final stage makes.
type image struct {
	base        string
	uid         int64
	workdir     string
	entrypoint  []string
	cmd         []string
	command     []string // the worker command in CMD, after --
	healthcheck []string
	files       map[string]bool // paths COPY puts in the final stage
}

// execForm reads an instruction's JSON array; shell form is refused: it
// would make /bin/sh PID 1 (or fail FROM scratch), not slotrun.
func execForm(t *testing.T, in instruction, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("Dockerfile:%d: %s %s: want the exec form, a JSON array", in.line, in.cmd, args)
	}
	return argv
}

func dockerfile(t *testing.T) image {
	t.Helper()
	ins := parseDockerfile(t, "Dockerfile")
	var img image
	stages := 0
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			stages++
			img = image{base: strings.Fields(in.args)[0], files: map[string]bool{}}
		case "COPY":
			f := strings.Fields(in.args)
			img.files[f[len(f)-1]] = true
		case "USER":
			uid, _, _ := strings.Cut(in.args, ":")
			n, err := strconv.ParseInt(uid, 10, 64)
			if err != nil {
				t.Fatalf("Dockerfile:%d: USER %s: want a numeric uid, which Kubernetes' runAsNonRoot can check", in.line, in.args)
			}
			img.uid = n
		case "WORKDIR":
			img.workdir = in.args
		case "ENTRYPOINT":
			img.entrypoint = execForm(t, in, in.args)
		case "CMD":
			img.cmd = execForm(t, in, in.args)
		case "HEALTHCHECK":
			_, argv, ok := strings.Cut(in.args, " CMD ")
			if !ok {
				t.Fatalf("Dockerfile:%d: HEALTHCHECK without CMD", in.line)
			}
			img.healthcheck = execForm(t, in, strings.TrimSpace(argv))
		}
	}
	if stages < 2 {
		t.Fatalf("Dockerfile: %d stage(s); want a build stage and a small final one", stages)
	}
	if i := indexOf(img.cmd, "--"); i >= 0 {
		img.command = img.cmd[i+1:]
	}
	if len(img.command) == 0 {
		t.Fatalf("Dockerfile: CMD %q has no worker command after --", img.cmd)
	}
	return img
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestDockerfile(t *testing.T) {
	img := dockerfile(t)
	if img.base != "scratch" && !strings.HasPrefix(img.base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s; want scratch or a distroless static image (no shell, no libc)", img.base)
	}
	if img.uid == 0 {
		t.Errorf("final stage runs as root; want a USER with a non-zero uid")
	}
	if img.workdir == "" || img.workdir == "/" {
		t.Errorf("WORKDIR %q: slotrun writes .pid/ in its working directory, which must be the user's to write", img.workdir)
	}
	if len(img.entrypoint) != 1 || !img.files[img.entrypoint[0]] || filepath.Base(img.entrypoint[0]) != "slotrun" {
		t.Errorf("ENTRYPOINT %q; want slotrun alone, a path the final stage COPYs (flags go in CMD, so args: can replace them)", img.entrypoint)
	}
	if want := []string{img.entrypoint[0], "status", "--check"}; strings.Join(img.healthcheck, " ") != strings.Join(want, " ") {
		t.Errorf("HEALTHCHECK CMD %q; want %q", img.healthcheck, want)
	}
	inv := parseArgs(t, "Dockerfile CMD", img.cmd)
	if !img.files[inv.command[0]] {
		t.Errorf("CMD runs %s, which the final stage does not COPY", inv.command[0])
	}
	// The builds are static.
	for _, in := range parseDockerfile(t, "Dockerfile") {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") && !strings.Contains(in.args, "CGO_ENABLED=0") {
			t.Errorf("Dockerfile:%d: go build without CGO_ENABLED=0: the binary would need a libc the final image lacks", in.line)
		}
	}
}

// TestDockerImage builds the image and runs it, where a Docker daemon
// answers; the e2e tests run the same ENTRYPOINT and CMD as PID 1 without
// one.
func TestDockerImage(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker client: the image is not built (e2e runs its ENTRYPOINT as PID 1 instead)")
	}
	if out, err := exec.Command(docker, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers (%s): the image is not built (e2e runs its ENTRYPOINT as PID 1 instead)", strings.TrimSpace(string(out)))
	}
	tag := "slotrun-deploy-test:" + strconv.Itoa(os.Getpid())
	build := exec.Command(docker, "build", "-f", "deploy/Dockerfile", "-t", tag, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", tag).Run() })
	name := strings.ReplaceAll(tag, ":", "-")
	if out, err := exec.Command(docker, "run", "-d", "--name", name, tag, "-n", "2", "--", "/app/server").CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(docker, "rm", "-f", name).Run() })
	deadline := time.Now().Add(30 * time.Second)
	started := regexp.MustCompile(`worker 1 of 2: hello`)
	for {
		out, _ := exec.Command(docker, "logs", name).CombinedOutput()
		if started.Match(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workers did not start within 30s:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond) // the poll's interval, under the deadline above
	}
	if out, err := exec.Command(docker, "stop", "-t", "15", name).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}
	out, err := exec.Command(docker, "inspect", "--format", "{{.State.ExitCode}}", name).Output()
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Errorf("the container exited %s after docker stop (%v); want 0", out, err)
	}
}
