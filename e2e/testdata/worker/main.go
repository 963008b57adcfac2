// Command worker is the helper the e2e tests run under slotrun. It reports
// what it was given (slot id, process group, stdin, arguments) on one
// line, reports the signals it receives, and misbehaves on request.
//
// Every line it prints starts with an event word and has key=value pairs, so
// tests can wait for `ready id=3` without parsing prose.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/slotrun/slotrun/slots"
)

func main() {
	var (
		exitCode   = flag.Int("exit", -1, "exit at once with this code")
		exitAfter  = flag.Duration("exit-after", 0, "exit with -code after this long")
		code       = flag.Int("code", 0, "exit code for -exit-after")
		killSelf   = flag.Bool("kill-self", false, "die of SIGKILL at once")
		ignoreTerm = flag.Bool("ignore-term", false, "ignore SIGTERM")
		grandchild = flag.Bool("grandchild", false, "start a child in our process group that ignores nothing and sleeps")
		orphan     = flag.Bool("orphan", false, "leave an orphan behind: a child that starts a grandchild and exits")
		orphanLife = flag.Duration("orphan-life", 0, "how long the orphan lives (0: until killed)")
		lineSize   = flag.Int("line-size", 0, "write -lines lines of this many bytes")
		lines      = flag.Int("lines", 1, "how many lines of -line-size")
		sleepMode  = flag.Bool("sleep", false, "only sleep (used for grandchildren)")
		spawnDepth = flag.Int("spawn-orphan-depth", 0, "internal: 1 = the orphan's parent")
	)
	var (
		spawnOnTerm = flag.Bool("spawn-on-term", false, "on TERM or INT, start a child in our process group that sleeps, then exit 0")
		stderrLine  = flag.String("stderr-line", "", "after the ready line, write this text and id=N as one line to stderr")
	)
	var (
		termDelay   = flag.Duration("term-delay", 0, "with -sleep: on TERM, take this long to exit")
		stray       = flag.Bool("stray", false, "leave a process in our group whose parent is not us and not slotrun (see strayParent)")
		strayParent = flag.Bool("stray-parent", false, "internal: the stray's parent")
		exitOnHUP   = flag.Bool("exit-on-hup", false, "exit 0 on HUP")
		getID       = flag.String("getid", "", "take an id from this slot table with slots.GetProcessID; give it back on TERM")
		detach      = flag.Bool("detach", false, "start a sleeper that leaves our process group and session (setsid); with -ignore-term it ignores TERM")
	)
	flag.Parse()

	if *strayParent {
		runStrayParent()
	}
	if *sleepMode {
		if *ignoreTerm {
			signal.Ignore(syscall.SIGTERM)
		}
		if *termDelay > 0 {
			term := make(chan os.Signal, 1)
			signal.Notify(term, syscall.SIGTERM)
			go func() {
				<-term
				time.Sleep(*termDelay)
				os.Exit(0)
			}()
		}
		fmt.Printf("sleeper pid=%d pgid=%d ppid=%d\n", os.Getpid(), syscall.Getpgrp(), os.Getppid())
		if *orphanLife > 0 {
			time.Sleep(*orphanLife)
			return
		}
		// Not select{}: with no goroutine and no timer left, the Go runtime
		// calls that a deadlock and exits at once.
		for {
			time.Sleep(time.Hour)
		}
	}
	if *spawnDepth == 1 {
		// The orphan's parent: start the orphan, then exit at once.
		child := exec.Command(os.Args[0], "-sleep", "-orphan-life", orphanLife.String())
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("orphan pid=%d\n", child.Process.Pid)
		os.Exit(0)
	}

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGINT, syscall.SIGTERM)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}

	id := os.Getenv("COMET_PROCESS_ID")
	fmt.Printf("ready id=%s count=%s pid=%d pgid=%d ppid=%d stdin=%s args=%s extra=%s\n",
		id, os.Getenv("COMET_PROCESS_COUNT"), os.Getpid(), syscall.Getpgrp(), os.Getppid(),
		stdinKind(), strings.Join(flag.Args(), ","), os.Getenv("EXTRA"))

	if *getID != "" {
		got, err := slots.GetProcessID(*getID)
		fmt.Printf("getid id=%s got=%d err=%v\n", id, got, err)
	}
	if *stray {
		parent := exec.Command(os.Args[0], "-stray-parent")
		parent.Stdout = os.Stdout
		if err := parent.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	if *stderrLine != "" {
		fmt.Fprintf(os.Stderr, "%s id=%s\n", *stderrLine, id)
	}

	switch {
	case *exitCode >= 0:
		os.Exit(*exitCode)
	case *killSelf:
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if *grandchild {
		startSleeper(id)
	}
	if *detach {
		args := []string{"-sleep"}
		if *ignoreTerm {
			args = append(args, "-ignore-term")
		}
		child := exec.Command(os.Args[0], args...)
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("detached id=%s pid=%d\n", id, child.Process.Pid)
	}
	if *orphan {
		parent := exec.Command(os.Args[0], "-spawn-orphan-depth", "1", "-orphan-life", orphanLife.String())
		parent.Stdout = os.Stdout
		if err := parent.Run(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	if *lineSize > 0 {
		line := []byte(strings.Repeat(string(rune('a'+len(id)%26)), *lineSize))
		copy(line, fmt.Sprintf("line id=%s ", id))
		line = append(line, '\n')
		for range *lines {
			os.Stdout.Write(line)
		}
		fmt.Printf("written id=%s\n", id)
	}

	var exit <-chan time.Time
	if *exitAfter > 0 {
		exit = time.After(*exitAfter)
	}
	for {
		select {
		case sig := <-sigs:
			name := strings.TrimPrefix(signalName(sig.(syscall.Signal)), "SIG")
			fmt.Printf("signal id=%s pid=%d sig=%s\n", id, os.Getpid(), name)
			if sig == syscall.SIGHUP && *exitOnHUP {
				os.Exit(0)
			}
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				if *getID != "" {
					if err := slots.ReleaseProcessID(*getID); err != nil {
						fmt.Println("error", err)
					}
				}
				if *spawnOnTerm {
					startSleeper(id) // like a shell trap that runs a cleanup command
				}
				os.Exit(0)
			}
		case <-exit:
			os.Exit(*code)
		}
	}
}

// runStrayParent starts a sleeper in its own (the worker's) process group,
// then moves itself to a group of its own: the sleeper is left in the
// worker's group with a parent outside it, so when the sleeper ends, this
// process reaps it and slotrun is not told. The sleeper takes a while to
// obey TERM, so it outlives the worker.
func runStrayParent() {
	fmt.Printf("strayparent pid=%d\n", os.Getpid())
	child := exec.Command(os.Args[0], "-sleep", "-term-delay", "300ms")
	child.Stdout = os.Stdout
	if err := child.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := syscall.Setpgid(0, 0); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("stray pid=%d\n", child.Process.Pid)
	child.Wait()
	for {
		time.Sleep(time.Hour)
	}
}

// startSleeper starts a child in our process group that sleeps until it is
// signalled, and reports it as our grandchild (from slotrun's view).
func startSleeper(id string) {
	child := exec.Command(os.Args[0], "-sleep")
	child.Stdout = os.Stdout
	if err := child.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("grandchild id=%s pid=%d\n", id, child.Process.Pid)
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	case syscall.SIGWINCH:
		return "WINCH"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGTERM:
		return "TERM"
	}
	return fmt.Sprint(int(sig))
}

// stdinKind says whether fd 0 is /dev/null.
func stdinKind() string {
	var in, null syscall.Stat_t
	if syscall.Fstat(0, &in) != nil || syscall.Stat("/dev/null", &null) != nil {
		return "?"
	}
	if in.Rdev == null.Rdev && in.Mode&syscall.S_IFMT == syscall.S_IFCHR {
		return "/dev/null"
	}
	return "other"
}
