# slotrun config file: every key, set to its default. Use it with
#   slotrun -c app.hcl            (the command comes from the file)
#   slotrun -c app.hcl -- ./w     (a command on the command line replaces it)
# A flag on the command line wins over the file, the file over the defaults,
# key by key; --env and --signal entries merge over env and signals per key.
# Durations are strings with a unit: "500ms", "10s", "1m30s".
# Keys shown commented out have no fixed default: it follows from other keys.

# Instance name: names the default PID file and slot table, and log lines.
name = "slotrun"

# The worker's argv: the program, then its arguments. Required here or after --.
# command = ["./worker", "--port", "8080"]

# Number of workers. Default: the usable CPUs (GOMAXPROCS, cgroup-aware).
# workers = 8

# Size of the id space, at least workers; COMET_PROCESS_COUNT. Default: workers.
# slots = 8

# Copy K of replicas (0..replicas-1), for ids unique across several slotruns:
# worker id = ordinal * slots + slot, COMET_PROCESS_COUNT = replicas * slots.
# "auto" reads K from the host name's trailing -K (StatefulSet pods web-0, web-1, ...).
ordinal = 0

# How many copies of slotrun share the id space (pods, containers, hosts).
replicas = 1

# The supervisor's PID file, relative to the working directory. Default: .pid/NAME.pid.
# pidfile = ".pid/slotrun.pid"

# The slot table; share it between supervisors to share an id space. Default: .pid/NAME.slots.
# slots_file = ".pid/slotrun.slots"

# Prefix each line of worker output with "[NAME:SLOT] ".
prefix = false

# Added to every worker's environment, as in { LOG_LEVEL = "debug" }.
env = {}

restart {
  # Which exits restart a worker: always | on-failure (exit 0 ends the slot) | never.
  policy = "always"
  # A worker that ran at least this long is restarted at once and its failure streak resets.
  min_uptime = "1s"
  # The k-th quick failure in a row waits backoff_min * 2^(k-1) ...
  backoff_min = "100ms"
  # ... capped at backoff_max.
  backoff_max = "30s"
  # Give up after this many restarts of one slot within window; 0: never give up.
  max_restarts = 0
  # The span of time max_restarts counts in.
  window = "60s"
}

stop {
  # What a graceful stop sends each worker.
  signal = "TERM"
  # How long a stop waits before SIGKILL to the worker's process group.
  timeout = "10s"
}

# What each signal to slotrun does: forward | forward:SIG | stop | restart |
# scale-up | scale-down | ignore. Signals not listed keep these defaults.
signals {
  # Graceful stop; a second TERM or INT during a stop kills at once.
  TERM = "stop"
  # Graceful stop, as TERM.
  INT = "stop"
  # Sent on to every worker's process group; "restart" gives a rolling restart.
  HUP = "forward"
  # Sent on to every worker's process group.
  QUIT = "forward"
  # Sent on to every worker's process group.
  USR1 = "forward"
  # Sent on to every worker's process group.
  USR2 = "forward"
  # Sent on to every worker's process group.
  WINCH = "forward"
  # One more worker, up to slots.
  TTIN = "scale-up"
  # One fewer worker, down to 1.
  TTOU = "scale-down"
  # Ctrl-Z: sent on to every worker's process group, then slotrun stops too.
  TSTP = "forward"
  # Sent on to every worker's process group (fg, bg after a Ctrl-Z).
  CONT = "forward"
}

# The control socket that slotrun status, scale, restart and stop talk to;
# "none" turns it off. Default: the PID file's path with .sock for .pid.
# control = ".pid/slotrun.sock"

# Serve /metrics, /livez, /healthz and /readyz on this address. Default: off.
# http = ":9090"

# /readyz and `slotrun status --check` succeed while this many workers are ready.
min_ready = 1

# On a stop, /readyz fails at once and the workers get the stop signal this much later (at most 10m).
shutdown_delay = "0s"

log {
  # Supervisor log level: trace | debug | info | warn | error.
  level = "info"
  # Supervisor log format on stderr: text | json.
  format = "text"
}

# Sockets bound once, before any worker, held for slotrun's whole life, and
# passed to every worker at fds 3.. with LISTEN_FDS, LISTEN_FDNAMES (these
# names) and LISTEN_PID, as systemd does. NAME = "URL", as in
#   web = "tcp://:8080"; also tcp4://127.0.0.1:0, tcp6://[::1]:8080,
#   udp://:5353, unix:///run/api.sock?mode=0660, unix://@api (abstract).
# ?backlog=N sets the connection queue (default: the system's maximum).
listen {}

ready {
  # When a worker counts as ready: uptime (alive for min_uptime) | notify (it sends READY=1).
  mode = "uptime"
  # With notify: a worker not ready within this is stopped, as a failure; "0s": no limit.
  timeout = "60s"
  # With notify: a worker that sends no WATCHDOG=1 for this long is aborted; "0s": off.
  watchdog = "0s"
}
