// Package deploy holds no code: it is the module of the tests that keep the
// deployment examples in this directory (Dockerfile, kubernetes/, nomad/,
// systemd/) correct and consistent with the flags they pass to slotrun.
// It is a module of its own so that the Kubernetes API types it decodes the
// manifests with never enter slotrun's own module. Run its tests with
//
//	cd deploy && go test ./...
package deploy
