// Command hello supervises one process and prints its output.
package main

import (
	"fmt"
	"log"
	"sync"

	procmon "github.com/procmon/procmon/bindings/go"
)

func main() {
	m, err := procmon.New() // already running
	if err != nil {
		log.Fatal(err)
	}

	var lines sync.WaitGroup
	lines.Add(2) // hello, world
	m.SetLogFunc(func(name string, _ procmon.Stream, line []byte) {
		fmt.Printf("[%s] %s\n", name, line)
		lines.Done()
	})

	argv := []string{"sh", "-c", "echo hello; echo world; exec sleep 60"}
	if err := m.AddProcess("greeter", argv, nil); err != nil {
		log.Fatal(err)
	}
	lines.Wait()
	m.Close() // TERM to the child, then wait until it is reaped
}
