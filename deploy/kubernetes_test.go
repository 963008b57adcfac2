package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// manifests decodes every document of a YAML file strictly into its
// Kubernetes API type: an unknown or misspelt field, a wrong type or a
// duplicate key fails, as `kubectl apply --validate=strict` would.
func manifests(t *testing.T, path string) (deployments []appsv1.Deployment, sets []appsv1.StatefulSet, services []corev1.Service) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		where := fmt.Sprintf("%s, document %d", path, i+1)
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		var into any
		switch gk := head.APIVersion + " " + head.Kind; gk {
		case "apps/v1 Deployment":
			deployments = append(deployments, appsv1.Deployment{})
			into = &deployments[len(deployments)-1]
		case "apps/v1 StatefulSet":
			sets = append(sets, appsv1.StatefulSet{})
			into = &sets[len(sets)-1]
		case "v1 Service":
			services = append(services, corev1.Service{})
			into = &services[len(services)-1]
		default:
			t.Fatalf("%s: %q is not a kind these examples use", where, gk)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s: strict decoding: %v", where, err)
		}
	}
	return deployments, sets, services
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func TestDeploymentManifest(t *testing.T) {
	deployments, sets, services := manifests(t, "kubernetes/deployment.yaml")
	if len(deployments) != 1 || len(sets)+len(services) != 0 {
		t.Fatalf("want one Deployment, got %d, and %d other objects", len(deployments), len(sets)+len(services))
	}
	d := deployments[0]
	checkSelector(t, "Deployment "+d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	inv := checkPod(t, "Deployment "+d.Name, d.Spec.Template.Spec)
	// A Deployment's pods have random names: nothing gives them an ordinal.
	if inv.has("ordinal") || inv.has("replicas") {
		t.Errorf("Deployment %s: --ordinal and --replicas belong in a StatefulSet, whose pods are numbered", d.Name)
	}
}

func TestStatefulSetManifest(t *testing.T) {
	deployments, sets, services := manifests(t, "kubernetes/statefulset.yaml")
	if len(sets) != 1 || len(services) != 1 || len(deployments) != 0 {
		t.Fatalf("want one StatefulSet and its Service; got %d StatefulSets, %d Services, %d Deployments", len(sets), len(services), len(deployments))
	}
	s, svc := sets[0], services[0]
	where := "StatefulSet " + s.Name
	checkSelector(t, where, s.Spec.Selector.MatchLabels, s.Spec.Template.Labels)
	if s.Spec.ServiceName != svc.Name || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("%s: serviceName %q; want the headless Service %q of the file (clusterIP None, got %q)", where, s.Spec.ServiceName, svc.Name, svc.Spec.ClusterIP)
	}
	checkSelector(t, "Service "+svc.Name, svc.Spec.Selector, s.Spec.Template.Labels)
	inv := checkPod(t, where, s.Spec.Template.Spec)

	// The id arithmetic: --replicas is the StatefulSet's replicas, every pod
	// finds its own ordinal, and M (--slots) is fixed, the same in every pod.
	if s.Spec.Replicas == nil {
		t.Fatalf("%s: replicas is not set; --replicas must equal it", where)
	}
	replicas := int(*s.Spec.Replicas)
	if got := inv.number(t, "replicas"); got != replicas {
		t.Errorf("%s: --replicas %d, but replicas: %d", where, got, replicas)
	}
	if !inv.has("slots") {
		t.Errorf("%s: --slots is not set: its default follows the CPUs, which may differ from pod to pod, and so would every pod's id range", where)
	} else if inv.has("workers") && inv.number(t, "workers") > inv.number(t, "slots") {
		t.Errorf("%s: -n %d is more than --slots %d", where, inv.number(t, "workers"), inv.number(t, "slots"))
	}
	container := s.Spec.Template.Spec.Containers[0]
	switch ord := inv.value("ordinal"); {
	case ord == "auto":
		// Pods are named NAME-0 .. NAME-(replicas-1), and that is their host name.
		if s.Spec.Template.Spec.Hostname != "" || s.Spec.Template.Spec.SetHostnameAsFQDN != nil && *s.Spec.Template.Spec.SetHostnameAsFQDN {
			t.Errorf("%s: --ordinal auto reads the host name, which the pod spec must leave as the pod's name", where)
		}
		for k := range replicas {
			host := fmt.Sprintf("%s-%d", s.Name, k)
			if got := trailingNumber(host); got != k {
				t.Errorf("%s: pod %s would take ordinal %d", where, host, got)
			}
		}
	case strings.HasPrefix(ord, "$("):
		name := strings.TrimSuffix(strings.TrimPrefix(ord, "$("), ")")
		if !podIndexFromLabel(container.Env, name) {
			t.Errorf("%s: --ordinal %s, but env %s is not the pod-index label through the downward API", where, ord, name)
		}
	default:
		t.Errorf("%s: --ordinal %q; want auto or $(VAR) from the pod-index label: a number would give every pod the same ids", where, ord)
	}
}

// trailingNumber is what --ordinal auto reads from a host name: the N of a
// trailing -N of its first label, or -1.
func trailingNumber(host string) int {
	label, _, _ := strings.Cut(host, ".")
	m := regexp.MustCompile(`-([0-9]+)$`).FindStringSubmatch(label)
	if m == nil {
		return -1
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

func podIndexFromLabel(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath == "metadata.labels['apps.kubernetes.io/pod-index']"
		}
	}
	return false
}

func checkSelector(t *testing.T, where string, selector, labels map[string]string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s: empty selector", where)
	}
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template's labels %v", where, k, v, labels)
		}
	}
}

// checkPod checks what every pod example must get right, and returns
// slotrun's command line in it.
func checkPod(t *testing.T, where string, pod corev1.PodSpec) invocation {
	t.Helper()
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers; the examples have one", where, len(pod.Containers))
	}
	c := pod.Containers[0]
	where += ", container " + c.Name
	if len(c.Command) != 0 {
		t.Errorf("%s: command: replaces the image's ENTRYPOINT (slotrun); give slotrun's flags as args:", where)
	}
	if !strings.HasPrefix(c.Image, "example.com/") {
		t.Errorf("%s: image %q; want a placeholder under example.com/ for the user to replace", where, c.Image)
	}
	inv := parseArgs(t, where, c.Args)
	image := dockerfile(t)
	if len(inv.command) == 0 || inv.command[0] != image.command[0] {
		t.Errorf("%s: worker command %q; the image's server is %q", where, inv.command, image.command)
	}

	// Probes: /livez and /readyz on slotrun's --http port.
	if !inv.has("http") {
		t.Fatalf("%s: no --http: the probes have nothing to ask", where)
	}
	httpPort := port(t, inv.value("http"))
	for _, p := range []struct {
		name, path string
		probe      *corev1.Probe
	}{{"livenessProbe", "/livez", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet", where, p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s path %q; want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
		}
		if got := containerPort(t, c, p.probe.HTTPGet.Port.String()); got != httpPort {
			t.Errorf("%s: %s on port %d; slotrun serves it on --http %s", where, p.name, got, inv.value("http"))
		}
	}
	// Every socket slotrun binds is a declared container port.
	for _, spec := range inv.flags["listen"] {
		p := port(t, spec)
		if containerPort(t, c, fmt.Sprint(p)) != p || !declared(c, p) {
			t.Errorf("%s: --listen %s: port %d is not among the container's ports", where, spec, p)
		}
	}

	// Stopping: the kubelet's grace period must cover slotrun's own stop.
	grace := 30 * time.Second // the Kubernetes default
	if pod.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	}
	delay := inv.duration(t, "shutdown-delay", defaultShutdownDelay)
	stop := inv.duration(t, "stop-timeout", defaultStopTimeout)
	if grace <= delay+stop {
		t.Errorf("%s: terminationGracePeriodSeconds %s is not more than --shutdown-delay %s + --stop-timeout %s: the kubelet would SIGKILL slotrun before it is done", where, grace, delay, stop)
	}
	if delay == 0 {
		t.Errorf("%s: no --shutdown-delay: TERM would stop the workers while the endpoints still send traffic", where)
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		t.Errorf("%s: a preStop hook delays TERM and eats into the grace period; --shutdown-delay does its job", where)
	}

	// The image's user, and a writable .pid/ in its working directory.
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: runAsNonRoot is not true", where)
	} else if u := pod.SecurityContext.RunAsUser; u == nil || *u != image.uid {
		t.Errorf("%s: runAsUser is not the image's USER, %d", where, image.uid)
	}
	if c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem {
		want := image.workdir + "/.pid"
		if inv.has("pidfile") || inv.has("slots-file") {
			t.Errorf("%s: set --pidfile and --slots-file back to their defaults, under the mounted %s", where, want)
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			mounted = mounted || m.MountPath == want && !m.ReadOnly
		}
		if !mounted {
			t.Errorf("%s: a read-only root filesystem, and nothing writable mounted at %s, where slotrun keeps its files", where, want)
		}
	}
	return inv
}

// containerPort resolves a probe's port, a number or a port's name.
func containerPort(t *testing.T, c corev1.Container, p string) int {
	t.Helper()
	for _, cp := range c.Ports {
		if cp.Name == p || fmt.Sprint(cp.ContainerPort) == p {
			return int(cp.ContainerPort)
		}
	}
	var n int
	if _, err := fmt.Sscan(p, &n); err != nil {
		t.Errorf("container %s has no port named %q", c.Name, p)
	}
	return n
}

func declared(c corev1.Container, p int) bool {
	for _, cp := range c.Ports {
		if int(cp.ContainerPort) == p {
			return true
		}
	}
	return false
}

// TestStrictDecodingCatchesTypos: the decoding above is strict: a misspelt
// field fails rather than being dropped.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	data, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("readinessProbe:"), []byte("readynessProbe:"), 1)
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(bad, &d); err == nil || !strings.Contains(err.Error(), "readynessProbe") {
		t.Errorf("a misspelt field decoded without error (%v)", err)
	}
}
