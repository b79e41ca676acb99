package procmon

// The trampolines the library calls, through the C shims of monitor.go. The
// userdata is a cgo.Handle to the monitor's callbacks, never a Go pointer.

/*
#include <stdint.h>
#include <procmon.h>
*/
import "C"

import (
	"runtime/cgo"
	"syscall"
	"unsafe"
)

//export goProcmonLog
func goProcmonLog(handle C.uintptr_t, name *C.char, stream C.int, line *C.char, n C.size_t) {
	cbs := cgo.Handle(handle).Value().(*callbacks)
	f := cbs.log.Load()
	if f == nil {
		return
	}
	defer cbs.enter()()
	(*f)(C.GoString(name), Stream(stream), C.GoBytes(unsafe.Pointer(line), C.int(n)))
}

//export goProcmonEvent
func goProcmonEvent(handle C.uintptr_t, e *C.procmon_event_t) {
	cbs := cgo.Handle(handle).Value().(*callbacks)
	if EventKind(e.kind) == EventReady {
		cbs.ready.ready(C.GoString(e.name))
	}
	f := cbs.event.Load()
	if f == nil {
		return
	}
	var detail string
	if e.detail != nil {
		detail = C.GoString(e.detail)
	}
	defer cbs.enter()()
	(*f)(Event{
		Kind:     EventKind(e.kind),
		Name:     C.GoString(e.name),
		Pid:      int(e.pid),
		ExitCode: int(e.exit_code),
		Signal:   syscall.Signal(e.signal),
		Error:    syscall.Errno(e.error),
		Uptime:   seconds(e.uptime),
		Delay:    seconds(e.delay),
		// 0.2
		Timestamp:   eventTime(e.timestamp),
		Flags:       ExitFlags(e.flags),
		UserCPU:     seconds(e.user_cpu),
		SysCPU:      seconds(e.sys_cpu),
		MaxRSSKiB:   int64(e.max_rss_kib),
		Containment: containmentOf(e.containment),
		Detail:      detail,
	})
}

// enter marks the calling OS thread as the callback thread while a func runs
// (see inCallback); the returned func clears the mark.
func (c *callbacks) enter() func() {
	c.thread.Store(int32(syscall.Gettid()))
	return func() { c.thread.Store(0) }
}
