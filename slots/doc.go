// Package slots gives each of a set of cooperating processes on one host a
// small, unique integer id — its slot — without a coordinator process, and
// hands the id of a process that died to whoever asks next. slotrun uses it to
// give workers stable ids (COMET_PROCESS_ID); worker programs started by
// something else use GetProcessID to draw ids from the same table.
//
// The ids live in a slot table: a file that every process using it maps
// MAP_SHARED (docs/slots.md). Little-endian on disk:
//
//	offset 0   header, 64 bytes: magic "SLOTRUN1", version uint32 = 1,
//	           slot count uint32, 48 reserved bytes (zero)
//	offset 64  slot i at 64+8*i: holder pid uint32, start-time tag uint32,
//	           read as one uint64 word pid | tag<<32; 0 means free
//
// What the package promises:
//
//   - A slot changes only by one 64-bit compare-and-swap of its whole word.
//     Two processes never both succeed in taking the same slot, and the
//     methods of Table hold no lock while taking or giving one back.
//   - A slot is free when its word is zero or its holder is dead: gone, a
//     zombie whose every thread has exited, or replaced by an unrelated
//     process that was given the same pid. A process is dead only when its
//     whole thread group is: one whose main thread has exited (pthread_exit,
//     or the first thread done in an exit) while another thread still runs
//     or exits is alive. The tag — the low 32 bits of the holder's start
//     time, field 22 of /proc/PID/stat — tells the holder from a later
//     process with its pid. So a holder that crashes never leaks its slot,
//     and nobody has to clean up.
//   - A slot whose holder is alive is never taken from it. The one move of
//     a live holder's slot is GetProcessID in a child of a wrapper (a
//     process holding a slot it does not use), which takes the wrapper's
//     slot over in one compare-and-swap and gives it back when done.
//   - No two live callers of GetProcessID get the same id. Each holds a
//     claim on its id (a lock on the slot's word) until it gives the id back
//     or ends, and meanwhile the slot's word names the caller, or the
//     supervisor that is handing the slot over to it.
//   - No file content makes Open or a later call panic or fault: a file that
//     is a symlink, not a regular file, owned by another user, group- or
//     world-writable, or not a well-formed table is refused with an error that
//     names the file and says what to do.
//   - A table only grows. Each Table sees the slot count it mapped. Its disk
//     space is allocated before it is mapped, so a full file system makes
//     Open fail with ENOSPC instead of a later access fault. A file of zero
//     bytes only — what a creation that stopped before its header leaves —
//     is a table still to be created, never one to refuse.
//
// Limits:
//
//   - Pids are those of the caller's PID namespace: processes that share a
//     table must share one.
//   - The tag keeps 32 bits of a tick count, so a process that reuses a dead
//     holder's pid exactly 2^32 ticks (about 497 days at 100 Hz) after the
//     holder started is taken for it.
//   - Slot words are accessed in the CPU's byte order, which is the file's only
//     on little-endian CPUs (amd64, arm64, ...): Open refuses to work on a
//     big-endian CPU, and anywhere but Linux, whose /proc it reads.
//   - Truncating a table file by hand while processes map it makes them fault.
//   - On a copy-on-write file system (btrfs, ZFS), allocating a file's space
//     does not reserve the space its later writes need: there a full disk
//     can still make a store to the table fault.
//
// Supervisors use Open and the methods of Table. Worker programs use
// GetProcessID, which under slotrun returns the id in COMET_PROCESS_ID, and
// elsewhere a free one; FromEnv only reads the environment.
package slots
