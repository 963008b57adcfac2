package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Ids across several copies of slotrun (docs/replicas.md): copy K of R
// gives its workers the ids K*M .. K*M+M-1 out of R*M, M being --slots.

// autoOrdinal is the value of Ordinal while it says auto: negative, which
// checkOrdinal refuses, so no number can be mistaken for it. resolve
// replaces it by the ordinal read from the host name.
const autoOrdinal = -1

// hostname is os.Hostname, replaced in tests.
var hostname = os.Hostname

func checkOrdinal(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("must be 0 or more, not %d", n)
	}
	if n >= maxWorkers {
		return 0, fmt.Errorf("must be less than %d, not %d", maxWorkers, n)
	}
	return n, nil
}

// ordinalFromHost reads K from a host name that ends in -K, as the pods of
// a Kubernetes StatefulSet are named (web-0, web-1, ...). Only the first
// label counts, so a host name set to the pod's FQDN
// (web-2.web.default.svc.cluster.local) gives 2 as well.
func ordinalFromHost(host string) (int, error) {
	label, _, _ := strings.Cut(host, ".")
	i := strings.LastIndexByte(label, '-')
	digits := label[i+1:]
	if i < 0 || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, fmt.Errorf("the host name %q does not end in -N, as StatefulSet pods do (web-0, web-1, ...): give the ordinal as a number", host)
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		n = maxWorkers // too large for an int: as wrong as any number past the limit
	}
	if _, err := checkOrdinal(n); err != nil {
		return 0, fmt.Errorf("the host name %q ends in -%s, too large for an ordinal (the limit is %d)", host, digits, maxWorkers-1)
	}
	return n, nil
}

// resolveOrdinal replaces auto by the host name's ordinal, then checks
// that the ordinal is one of the replicas' 0..R-1.
func (s *Settings) resolveOrdinal(from sources) error {
	given := from.describe("ordinal", s.Ordinal)
	if s.Ordinal == autoOrdinal {
		given = from.describe("ordinal", "auto")
		host, err := hostname()
		if err != nil {
			return usageErrorf("%s: cannot read the host name: %w", given, err)
		}
		if s.Ordinal, err = ordinalFromHost(host); err != nil {
			return usageErrorf("%s: %w", given, err)
		}
		given = fmt.Sprintf("%s (host name %q, ordinal %d)", given, host, s.Ordinal)
	}
	if s.Ordinal >= s.Replicas {
		return usageErrorf("%s is not below %s: copies of slotrun are numbered 0 to replicas-1 (set --replicas to how many there are)",
			given, from.describe("replicas", s.Replicas))
	}
	return nil
}
