package e2e

// The helper workers under testdata are real clients of the protocols
// slotrun speaks: go-systemd's activation (sd_listen_fds) and daemon
// (sd_notify). The go command ignores testdata directories, so these
// imports keep their module in go.mod.
import (
	_ "github.com/coreos/go-systemd/v22/activation"
	_ "github.com/coreos/go-systemd/v22/daemon"
)
