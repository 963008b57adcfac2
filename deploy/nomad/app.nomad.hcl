# Sharded consumers on Nomad: 3 allocations x 8 workers, ids 0..23.
# Allocation K (NOMAD_ALLOC_INDEX, 0..count-1) runs `slotrun --ordinal K
# --replicas 3 --slots 8`, so its workers get COMET_PROCESS_ID = K*8 + slot
# and COMET_PROCESS_COUNT = 24. Change count and --replicas together.
#
#   nomad job run app.nomad.hcl    (after setting image to yours)
#
# A stop sends TERM (kill_signal) to slotrun, the image's entrypoint: /readyz
# turns 503 at once (Consul takes the service out), the workers get TERM
# after --shutdown-delay, and what is left is killed after --stop-timeout.
# kill_timeout must exceed shutdown-delay + stop-timeout (30s > 2s + 20s), or
# Nomad kills slotrun itself first.
job "consumer" {
  type = "service"

  group "consumer" {
    count = 3

    # One allocation replaced at a time, without canaries: a canary would
    # run a second allocation with the same index, and the same ids.
    update {
      max_parallel = 1
      canary       = 0
    }

    network {
      port "health" {
        to = 9090
      }
    }

    service {
      name     = "consumer"
      port     = "health"
      provider = "nomad"

      check {
        type     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }
    }

    task "consumer" {
      driver       = "docker"
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      config {
        image = "example.com/consumer:1.0"
        ports = ["health"]
        args = [
          "--ordinal", "${NOMAD_ALLOC_INDEX}",
          "--replicas", "3",
          "--slots", "8",
          "-n", "8",
          "--http", ":9090",
          "--shutdown-delay", "2s",
          "--stop-timeout", "20s",
          "--", "/app/server",
        ]
      }

      resources {
        cpu    = 2000
        memory = 256
      }
    }
  }
}
