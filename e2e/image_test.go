package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// dockerImage is what deploy/Dockerfile's final stage runs: its USER,
// WORKDIR and the ENTRYPOINT and CMD lines, in exec form.
type dockerImage struct {
	uid, gid   int
	workdir    string
	entrypoint []string
	cmd        []string
}

func readDockerfile(t *testing.T) dockerImage {
	t.Helper()
	data, err := os.ReadFile("../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var img dockerImage
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			img = dockerImage{} // a new stage: only the last one counts
		case "USER":
			u, g, _ := strings.Cut(rest, ":")
			img.uid, _ = strconv.Atoi(u)
			img.gid, _ = strconv.Atoi(g)
		case "WORKDIR":
			img.workdir = rest
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &img.entrypoint); err != nil {
				t.Fatalf("deploy/Dockerfile: ENTRYPOINT %s is not in exec form: %v", rest, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &img.cmd); err != nil {
				t.Fatalf("deploy/Dockerfile: CMD %s is not in exec form: %v", rest, err)
			}
		}
	}
	if len(img.entrypoint) == 0 || len(img.cmd) == 0 || img.uid == 0 {
		t.Fatalf("deploy/Dockerfile: final stage has ENTRYPOINT %q, CMD %q, USER %d", img.entrypoint, img.cmd, img.uid)
	}
	return img
}

// TestDockerfileEntrypointAsPID1 runs the image's ENTRYPOINT and CMD the
// way a container runtime would, without one: as PID 1 of a new PID
// namespace, as the image's user, in a working directory that user owns,
// with the programs at the paths the image puts them. The workers start
// with their ids, and TERM — what `docker stop` and the kubelet send —
// stops everything with exit code 0.
func TestDockerfileEntrypointAsPID1(t *testing.T) {
	t.Parallel()
	img := readDockerfile(t)
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}

	// A root the image's user can read: the image's files, at their paths
	// under it, and its WORKDIR, owned by the user.
	root, err := os.MkdirTemp("", "slotrun-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	inRoot := func(path string) string { return filepath.Join(root, path) }
	server := img.cmd[len(img.cmd)-1]
	build := exec.Command("go", "build", "-o", inRoot(server), "../examples/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the image's server: %v\n%s", err, out)
	}
	copyFile(t, slotrunBin, inRoot(img.entrypoint[0]))
	if err := os.MkdirAll(inRoot(img.workdir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(inRoot(img.workdir), img.uid, img.gid); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})

	argv := []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		"setpriv", "--reuid=" + strconv.Itoa(img.uid), "--regid=" + strconv.Itoa(img.gid), "--clear-groups",
		inRoot(img.entrypoint[0])}
	for _, arg := range img.cmd {
		if strings.HasPrefix(arg, "/") {
			arg = inRoot(arg)
		}
		argv = append(argv, arg)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	p := startCmd(t, inRoot(img.workdir), cmd, false)

	var slotrun int
	eventually(t, waitFor, "slotrun started under unshare", func() bool {
		if kids := childrenOf(cmd.Process.Pid); len(kids) > 0 {
			slotrun = kids[0]
		}
		return slotrun != 0 && strings.Contains(p.stderr.text(), "starting")
	})
	if ns := innermostPID(slotrun); ns != 1 {
		t.Errorf("slotrun is pid %d in its namespace; want 1", ns)
	}
	if uid := procUID(t, slotrun); uid != img.uid {
		t.Errorf("slotrun runs as uid %d; want the image's USER %d", uid, img.uid)
	}
	n := p.waitStderr(`starting:`).int(t, "workers")
	for id := range n {
		p.waitStdout(fmt.Sprintf(`^worker %d of %d: hello`, id, n))
	}
	if _, err := os.Stat(filepath.Join(inRoot(img.workdir), ".pid", "slotrun.pid")); err != nil {
		t.Errorf("no PID file in the image's WORKDIR: %v", err)
	}

	if err := syscall.Kill(slotrun, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Errorf("exit code %d after TERM; want 0", code)
	}
	p.waitEOF()
	if got := len(regexp.MustCompile(`(?m)^worker \d+: terminated, goodbye`).FindAllString(p.stdout.text(), -1)); got != n {
		t.Errorf("%d of %d workers said goodbye on TERM", got, n)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// procUID is the real uid of pid.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, _ := strconv.Atoi(strings.Fields(rest)[0])
			return uid
		}
	}
	return -1
}
