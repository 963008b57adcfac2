// Command slotuser is a helper of the e2e tests of slot ids: a program that
// takes ids with slots.GetProcessID, as a worker under slotrun, as a child
// of one (a prefork server), or as an outside process racing for ids.
//
// Every process that uses an id also holds an exclusive flock on the file
// ID.lock in the -locks directory, for as long as it uses the id: the kernel
// drops the lock only when the process is gone. A process that gets an id
// and finds its lock held by another has got an id that a live process
// uses: it prints an "overlap" line. Lines are "event key=value ...".
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/slotrun/slotrun/slots"
)

var (
	table = flag.String("table", "", "the slot table")
	locks = flag.String("locks", "", "directory of the per-id lock files (none: no overlap check)")

	claim    = flag.Bool("getid", false, "take an id with GetProcessID and keep it until killed, or until TERM with -release")
	oddWrap  = flag.Bool("odd-wrap", false, "with -getid: a process whose COMET_PROCESS_ID is odd takes no id itself, as a wrapper")
	release  = flag.Bool("release", false, "with -getid: on TERM, give the id back and exit 0")
	children = flag.Int("children", 0, "start this many children in our process group that take ids with -getid")

	race  = flag.Duration("race", 0, "race for ids for this long: take one, hold it for -hold, give it back, again")
	hold  = flag.Duration("hold", time.Millisecond, "with -race: how long an id is held")
	pause = flag.Duration("pause", 5*time.Millisecond, "with -race: wait up to this long (random) after each try")

	crash   = flag.Duration("crash", 0, "exit with code 3 after a random time up to this long, from a busy thread")
	threads = flag.Int("threads", 0, "with -crash: busy threads")
	memMB   = flag.Int("mem", 0, "with -crash: touch this many MiB first, so that exiting takes a while")
)

func main() {
	flag.Parse()
	switch {
	case *race > 0:
		os.Exit(racer())
	case *claim || *children > 0 || *crash > 0:
		worker()
	default:
		fmt.Fprintln(os.Stderr, "slotuser: say -getid, -children, -crash or -race")
		os.Exit(2)
	}
}

// worker is a process under slotrun, or a child of one: it takes an id if
// asked (-getid), starts children that do, and crashes if asked.
func worker() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	env := os.Getenv(slots.EnvProcessID)
	n, _ := strconv.Atoi(env)
	claimed := false
	if *claim && !(*oddWrap && n%2 == 1) {
		id, err := slots.GetProcessID(*table)
		switch {
		case errors.Is(err, slots.ErrNoFreeSlot):
			fmt.Printf("full pid=%d ppid=%d env=%s\n", os.Getpid(), os.Getppid(), env)
		case err != nil:
			fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
			os.Exit(1)
		default:
			claimed = true
			lockID(id)
			fmt.Printf("getid pid=%d ppid=%d env=%s id=%d\n", os.Getpid(), os.Getppid(), env, id)
		}
	}
	for range *children {
		c := exec.Command(os.Args[0], "-table", *table, "-locks", *locks, "-getid", "-release="+strconv.FormatBool(*release))
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
			os.Exit(1)
		}
		go c.Wait()
	}
	if *children > 0 {
		fmt.Printf("parent pid=%d env=%s children=%d\n", os.Getpid(), env, *children)
	}
	if *crash > 0 {
		crashSoon()
	}
	<-term
	if claimed && *release {
		unlockID()
		if err := slots.ReleaseProcessID(*table); err != nil {
			fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

// crashSoon makes the process multi-threaded and big, then has one of its
// threads end it: its threads exit one by one, not all at once, which is
// the window this helper exists to exercise.
func crashSoon() {
	mem := make([]byte, *memMB<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	for range *threads {
		go func() {
			for n := 0; ; n++ {
				if n%1000 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	after := time.Duration(rand.Int64N(int64(*crash)) + 1)
	go func() {
		time.Sleep(after)
		_ = mem[len(mem)/2]
		os.Exit(3)
	}()
}

var lockFD = -1

// lockID takes the lock of id, and reports an overlap if another process
// holds it: how long until it let go, up to 2 s.
func lockID(id int) {
	if *locks == "" {
		return
	}
	fd, err := syscall.Open(filepath.Join(*locks, strconv.Itoa(id)+".lock"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
		os.Exit(1)
	}
	lockFD = fd
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		return
	}
	start := time.Now()
	waited := "2s+"
	for time.Since(start) < 2*time.Second {
		if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			waited = time.Since(start).Round(10 * time.Microsecond).String()
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	fmt.Printf("overlap pid=%d env=%s id=%d held_for=%s\n", os.Getpid(), os.Getenv(slots.EnvProcessID), id, waited)
}

func unlockID() {
	if lockFD >= 0 {
		syscall.Close(lockFD)
		lockFD = -1
	}
}

// racer takes and gives back ids for -race, and prints "done" with how many
// ids it got and how often the table was full.
func racer() int {
	deadline := time.Now().Add(*race)
	got, full := 0, 0
	for time.Now().Before(deadline) {
		id, err := slots.GetProcessID(*table)
		switch {
		case errors.Is(err, slots.ErrNoFreeSlot):
			full++
		case err != nil:
			fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
			return 1
		default:
			got++
			lockID(id)
			time.Sleep(*hold)
			unlockID()
			if err := slots.ReleaseProcessID(*table); err != nil {
				fmt.Printf("error pid=%d err=%q\n", os.Getpid(), err)
				return 1
			}
		}
		time.Sleep(time.Duration(rand.Int64N(int64(*pause)) + 1))
	}
	fmt.Printf("done pid=%d got=%d full=%d\n", os.Getpid(), got, full)
	return 0
}
