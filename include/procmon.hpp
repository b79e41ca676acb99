/*
 * procmon.hpp: a header-only C++17 wrapper of the procmon C API (procmon.h).
 *
 *   procmonpp::Monitor monitor;                      // created and already running
 *   monitor.on_line([](std::string_view name, procmonpp::Stream, std::string_view line) {
 *     std::cout << '[' << name << "] " << line << '\n';
 *   });
 *   monitor.add_process("web", {"python3", "-m", "http.server"});
 *   ...                                            // ~Monitor: TERM, KILL, reap, join
 *
 * Ownership. A Monitor owns one procmon_t and is move-only. Its destructor calls
 * procmon_free(): it stops and reaps every child, delivers the remaining lines and
 * blocks for up to the kill time. A moved-from Monitor is inert: valid() is false,
 * its destructor does nothing, and every operation fails with errc::invalid.
 *
 * Errors. Every operation that can fail throws procmonpp::Error (a std::system_error
 * whose code is in procmonpp::category(), "procmon", and whose what() holds the
 * library's detail, procmon_last_error()). The main operations also have a
 * non-throwing overload taking a std::error_code&: it is cleared on success and set
 * on failure, and procmonpp::last_error() then gives the detail. Those overloads are
 * noexcept; if memory runs out they report std::errc::not_enough_memory.
 *
 * Threads. Every member except move assignment and the destructor may be called
 * from any thread at the same time, callbacks included (like the C API).
 *
 * Callbacks. on_line() and on_event() install a std::function, kept on the heap at
 * a stable address (moving the Monitor does not move it). The functions run on the
 * monitor's callback thread, one call at a time, never on the caller's thread.
 *  - Replacing (or clearing, with an empty function) from a thread other than the
 *    callback thread: when the setter returns, no call of the previous function is
 *    in progress and that function has been destroyed (so whatever it captured may
 *    be freed then). The C setter's guarantee gives this; it waits for a call in
 *    progress.
 *  - Replacing from inside a callback (on the callback thread): the new function is
 *    used from the next line (or event) on. If the function replaced is the one
 *    running right now, it is not destroyed under its own feet: its destruction is
 *    deferred until it returns (then it is destroyed on the callback thread, before
 *    the next callback). Any other replaced function is destroyed before the setter
 *    returns.
 *  - A callback may call any member of its Monitor, the destructor included:
 *    destroying the Monitor from inside one of its callbacks does not block; no
 *    callback runs after that one returns and the C library finishes the cleanup in
 *    the background (see procmon_free()). Note that a callback that captured a
 *    reference to the Monitor object must not use it after that object was moved.
 *  - Exceptions never cross into C. An exception escaping a callback is caught at the
 *    boundary; that line or event counts as delivered and the callback stays
 *    installed. The first such exception is kept until take_callback_exception()
 *    returns it (later ones are only counted, see callback_exception_count()). One
 *    still kept when the Monitor is destroyed is dropped.
 */
#ifndef PROCMON_HPP
#define PROCMON_HPP

// Needs a procmon.h whose opaque struct is not tagged `procmon` (a global struct
// `procmon` and namespace procmonpp cannot coexist in C++).
#include <procmon.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace procmonpp {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The library's error codes (procmon_error_t), usable as std::error_code.
enum class errc {
  invalid = PROCMON_ERR_INVALID,      ///< a bad argument (empty name or argv, NaN, ...)
  exists = PROCMON_ERR_EXISTS,        ///< add_process: the name is already monitored
  not_found = PROCMON_ERR_NOT_FOUND,  ///< unknown process name
  state = PROCMON_ERR_STATE,          ///< not allowed now (the monitor is shutting down)
  system = PROCMON_ERR_SYSTEM,        ///< an OS call failed
  internal = PROCMON_ERR_INTERNAL,    ///< a bug in the library
};

/// The "procmon" error category: messages are procmon_strerror()'s.
class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "procmon"; }
  std::string message(int code) const override { return procmon_strerror(code); }
};

/// The one instance of ErrorCategory.
inline const std::error_category& category() noexcept {
  static const ErrorCategory instance;
  return instance;
}

inline std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), category()};
}

/// Thrown by the throwing operations. code() is in category(); what() is
/// "<library detail>: <strerror text>".
class Error : public std::system_error {
 public:
  Error(std::error_code code, const std::string& detail)
      : std::system_error(detail.empty() ? std::system_error(code)
                                         : std::system_error(code, detail)) {}
};

}  // namespace procmonpp

namespace std {
template <>
struct is_error_code_enum<procmonpp::errc> : true_type {};
}  // namespace std

namespace procmonpp {

/// The library's version, e.g. "0.1.0" (procmon_version()).
inline std::string_view version() noexcept { return procmon_version(); }

namespace detail {

/// The detail of the last failure of a wrapper call on this thread.
inline std::string& last_error_slot() noexcept {
  thread_local std::string text;
  return text;
}

/// Passes `rc` through; on failure first copies procmon_last_error(), which must
/// therefore be called right after the failing C call, on the same thread.
inline int status(int rc) {
  if (rc != PROCMON_OK) last_error_slot() = procmon_last_error();
  return rc;
}

/// A failure detected by the wrapper itself, before any C call.
inline int own_failure(int rc, const char* detail) {
  last_error_slot() = detail;
  return rc;
}

inline std::error_code to_code(int rc) noexcept {
  return rc == PROCMON_OK ? std::error_code{} : make_error_code(static_cast<errc>(rc));
}

inline void throw_if(int rc) {
  if (rc != PROCMON_OK) throw Error(to_code(rc), last_error_slot());
}

/// Runs `f` (returning a status) for a non-throwing overload.
template <class F>
void into_code(std::error_code& ec, F&& f) noexcept {
  try {
    ec = to_code(f());
  } catch (const std::bad_alloc&) {
    last_error_slot().clear();
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
}

}  // namespace detail

/// The detail of the last failure reported on this thread by a non-throwing
/// overload (or a throwing one): what procmon_last_error() said then, or the
/// wrapper's own reason. "" if none. Call it before the next failing call.
inline std::string last_error() { return detail::last_error_slot(); }

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// Which output stream a line came from.
enum class Stream { out = PROCMON_STDOUT, err = PROCMON_STDERR };

/// The state of one monitored process.
enum class State {
  stopped = PROCMON_STATE_STOPPED,    ///< not running, no restart scheduled
  running = PROCMON_STATE_RUNNING,
  stopping = PROCMON_STATE_STOPPING,  ///< TERM sent, not yet exited
  backoff = PROCMON_STATE_BACKOFF,    ///< exited, restart scheduled
  failed = PROCMON_STATE_FAILED,      ///< gave up: the start limit was reached (0.2)
  starting = PROCMON_STATE_STARTING,  ///< not ready yet, or waiting for `after` (pid 0) (0.2)
};

/// The kinds of lifecycle events.
enum class EventKind {
  started = PROCMON_EVENT_STARTED,                      ///< pid
  exited = PROCMON_EVENT_EXITED,                        ///< pid, exit_code or signal, uptime
  spawn_failed = PROCMON_EVENT_SPAWN_FAILED,            ///< error (an errno)
  restart_scheduled = PROCMON_EVENT_RESTART_SCHEDULED,  ///< delay
  killed = PROCMON_EVENT_KILLED,                        ///< pid: the kill time ran out
  gave_up = PROCMON_EVENT_GAVE_UP,  ///< the start limit was reached; delay: until the retry
  ready = PROCMON_EVENT_READY,      ///< pid: the run is ready (0.2; Spec::readiness)
};

/// How a child says that it is ready (procmon_readiness_t).
enum class Readiness {
  on_start = PROCMON_READY_ON_START,    ///< as soon as it is spawned (the default)
  notify_fd = PROCMON_READY_NOTIFY_FD,  ///< arg "N": the first newline on its descriptor N
  sd_notify = PROCMON_READY_SD_NOTIFY,  ///< READY=1 over NOTIFY_SOCKET (sd_notify)
  line = PROCMON_READY_LINE,            ///< arg: the first output line containing it
};

/// The bits of Event::flags (PROCMON_EXIT_*), for EXITED events.
namespace exit_flags {
inline constexpr std::uint32_t expected = PROCMON_EXIT_EXPECTED;    ///< a success per the spec
inline constexpr std::uint32_t requested = PROCMON_EXIT_REQUESTED;  ///< a stop asked for it
inline constexpr std::uint32_t core_dumped = PROCMON_EXIT_CORE_DUMPED;
inline constexpr std::uint32_t timeout = PROCMON_EXIT_TIMEOUT;      ///< not ready in time
inline constexpr std::uint32_t watchdog = PROCMON_EXIT_WATCHDOG;    ///< missed watchdog
inline constexpr std::uint32_t status_unknown = PROCMON_EXIT_STATUS_UNKNOWN;  ///< reaped by someone else
}  // namespace exit_flags

/// What a stop reaches, and what must be empty before a restart
/// (procmon_containment_t; see procmon_spec_set_containment()).
enum class Containment {
  none = PROCMON_CONTAIN_NONE,      ///< only the child (the seed)
  group = PROCMON_CONTAIN_GROUP,    ///< the child's process group
  cgroup = PROCMON_CONTAIN_CGROUP,  ///< a cgroup v2 of its own: nothing escapes
  automatic = PROCMON_CONTAIN_AUTO, ///< cgroup where possible, else group (the default)
};

/// What a process does after its child exits (procmon_restart_t).
enum class Restart {
  always = PROCMON_RESTART_ALWAYS,          ///< every exit is followed by a restart (the seed)
  on_failure = PROCMON_RESTART_ON_FAILURE,  ///< unless the exit is a success
  never = PROCMON_RESTART_NEVER,            ///< no exit is followed by a restart
};

/// A lifecycle event (procmon_event_t). `name` is valid during the callback only.
struct Event {
  EventKind kind;
  std::string_view name;
  std::int32_t pid;
  std::int32_t exit_code;  ///< EXITED through exit(): its status; otherwise -1
  std::int32_t signal;     ///< EXITED through a signal: its number; otherwise 0
  std::int32_t error;      ///< SPAWN_FAILED: the errno
  std::chrono::duration<double> uptime;  ///< EXITED: how long the child ran
  std::chrono::duration<double> delay;   ///< RESTART_SCHEDULED: time until the restart
  /// When it happened (wall clock).
  std::chrono::system_clock::time_point timestamp;
  std::uint32_t flags;                    ///< EXITED: exit_flags bits
  std::chrono::duration<double> user_cpu; ///< EXITED: the run's user CPU time
  std::chrono::duration<double> sys_cpu;  ///< EXITED: the run's system CPU time
  std::int64_t max_rss_kib;               ///< EXITED: the run's peak resident set (KiB)
  /// STARTED: how the run is contained (none, group or cgroup); nullopt otherwise.
  std::optional<Containment> containment;
  /// STARTED: why it has less containment than asked (AUTO without cgroups), once.
  std::string_view detail;
};

/// A consistent snapshot of one process (procmon_process_info_t).
struct ProcessInfo {
  State state;
  std::int32_t pid;                            ///< 0 unless running or stopping
  std::uint64_t starts;                        ///< successful spawns so far
  std::chrono::duration<double> uptime;        ///< of the current run; 0 when not running
  std::chrono::duration<double> restart_delay; ///< what the next instant death waits
  std::int32_t last_exit_code;                 ///< of the last run; -1 if none
  std::int32_t last_signal;                    ///< of the last run; 0 if none
};

/// Options of add_process(); the defaults inherit everything.
struct ProcessOptions {
  /// "KEY=VALUE" entries; nullopt inherits the host's environment, an empty vector
  /// gives an empty environment.
  std::optional<std::vector<std::string>> env;
  std::optional<std::string> cwd;  ///< nullopt inherits
  std::optional<std::int64_t> uid, gid;  ///< nullopt (or a negative value) inherits
  /// Stop the child's whole process group, not only the child (see procmon.h).
  bool stop_process_group = false;
};

/// Called for every line of output, without its '\n': the process name, the stream
/// and the line (raw bytes, possibly not UTF-8). Both views are valid during the call.
using LineHandler = std::function<void(std::string_view name, Stream, std::string_view line)>;
/// Called for every lifecycle event.
using EventHandler = std::function<void(const Event&)>;

namespace detail {

/// What the C trampolines reach through their userdata: allocated once per
/// Monitor, so its address survives moves of the Monitor.
struct Shared {
  std::mutex mutex{};  // guards everything below
  std::shared_ptr<const LineHandler> on_line{};
  std::shared_ptr<const EventHandler> on_event{};
  std::exception_ptr first_exception{};
  std::uint64_t exception_count = 0;
  // Replaced functions whose end the C library could not confirm (a failed setter).
  std::vector<std::shared_ptr<const void>> retired{};

  void record(std::exception_ptr e) noexcept {
    try {
      std::lock_guard<std::mutex> lock(mutex);
      if (!first_exception) first_exception = std::move(e);
      ++exception_count;
    } catch (...) {
      // Locking failed: nothing sensible is left to do but drop it.
    }
  }
};

/// One trampoline call in progress on this thread (a linked stack).
struct Frame {
  Shared* shared;
  bool orphaned;  // the Monitor was destroyed during the call: delete `shared` after it
  Frame* outer;
};

inline Frame*& innermost_frame() noexcept {
  thread_local Frame* frame = nullptr;
  return frame;
}

/// The frame of a call of `shared`'s callbacks in progress on this thread, if any.
inline Frame* frame_of(const Shared* shared) noexcept {
  for (Frame* f = innermost_frame(); f; f = f->outer)
    if (f->shared == shared) return f;
  return nullptr;
}

/// Pushes a Frame for the duration of one trampoline call.
class CallbackScope {
 public:
  explicit CallbackScope(Shared* shared) noexcept : frame_{shared, false, innermost_frame()} {
    innermost_frame() = &frame_;
  }
  ~CallbackScope() {
    innermost_frame() = frame_.outer;
    if (frame_.orphaned) delete frame_.shared;
  }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  Frame frame_;
};

// The C callbacks. They hold their own reference to the current function for the
// whole call, which is what defers its destruction when it is replaced meanwhile.
inline void log_trampoline(void* userdata, const char* name, procmon_stream_t stream,
                           const char* line, std::size_t len) noexcept {
  auto* shared = static_cast<Shared*>(userdata);
  CallbackScope scope(shared);
  try {
    std::shared_ptr<const LineHandler> handler;
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      handler = shared->on_line;
    }
    if (handler) (*handler)(name, static_cast<Stream>(stream), std::string_view(line, len));
  } catch (...) {
    shared->record(std::current_exception());
  }
}

inline void event_trampoline(void* userdata, const procmon_event_t* e) noexcept {
  auto* shared = static_cast<Shared*>(userdata);
  CallbackScope scope(shared);
  try {
    std::shared_ptr<const EventHandler> handler;
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      handler = shared->on_event;
    }
    if (!handler) return;
    const Event event{static_cast<EventKind>(e->kind),
                      e->name ? std::string_view(e->name) : std::string_view(),
                      e->pid,
                      e->exit_code,
                      e->signal,
                      e->error,
                      std::chrono::duration<double>(e->uptime),
                      std::chrono::duration<double>(e->delay),
                      std::chrono::system_clock::time_point(
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(e->timestamp))),
                      e->flags,
                      std::chrono::duration<double>(e->user_cpu),
                      std::chrono::duration<double>(e->sys_cpu),
                      e->max_rss_kib,
                      e->containment >= 0
                          ? std::optional<Containment>(static_cast<Containment>(e->containment))
                          : std::nullopt,
                      e->detail ? std::string_view(e->detail) : std::string_view()};
    (*handler)(event);
  } catch (...) {
    shared->record(std::current_exception());
  }
}

/// Pointers to the strings of `strings` plus a final NULL, or nullopt if one of
/// them holds a NUL byte (C would silently cut it there).
inline std::optional<std::vector<const char*>> c_array(const std::vector<std::string>& strings) {
  std::vector<const char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) {
    if (s.find('\0') != std::string::npos) return std::nullopt;
    pointers.push_back(s.c_str());
  }
  pointers.push_back(nullptr);
  return pointers;
}

inline bool has_nul(const std::string& s) noexcept { return s.find('\0') != std::string::npos; }

}  // namespace detail

// ---------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------

/// A process spec (procmon_spec_t): what to run and how to supervise it, built
/// with chained setters and passed to Monitor::add(), which copies it (so one
/// Spec may serve several adds). Move-only. Every setter throws Error (errc::invalid,
/// naming the setting) on a bad value, and leaves the spec as it was.
///
///   monitor.add("web", procmonpp::Spec({"nginx", "-g", "daemon off;"})
///                          .restart(procmonpp::Restart::on_failure)
///                          .stop_signal(SIGQUIT)
///                          .env_var("TZ", "UTC"));
class Spec {
 public:
  /// A spec for `argv` (argv[0] is the program), every setting at its default.
  explicit Spec(const std::vector<std::string>& argv) {
    auto args = detail::c_array(argv);
    if (!args) detail::throw_if(detail::own_failure(PROCMON_ERR_INVALID, "an argument holds a NUL byte"));
    spec_ = procmon_spec_new(args->data());
    if (!spec_) throw Error(make_error_code(errc::invalid), procmon_last_error());
  }
  ~Spec() { procmon_spec_free(spec_); }
  Spec(Spec&& other) noexcept : spec_(std::exchange(other.spec_, nullptr)) {}
  Spec& operator=(Spec&& other) noexcept {
    if (this != &other) {
      procmon_spec_free(spec_);
      spec_ = std::exchange(other.spec_, nullptr);
    }
    return *this;
  }
  Spec(const Spec&) = delete;
  Spec& operator=(const Spec&) = delete;

  /// The base environment ("KEY=VALUE" entries; an empty vector is empty).
  Spec& env(const std::vector<std::string>& entries) {
    auto list = detail::c_array(entries);
    if (!list) return fail("an env entry holds a NUL byte");
    return check(procmon_spec_set_env(spec_, list->data()));
  }
  /// Inherit the host's environment (the default).
  Spec& inherit_env() { return check(procmon_spec_set_env(spec_, nullptr)); }
  /// Sets `key` on top of the base environment.
  Spec& env_var(const std::string& key, const std::string& value) {
    if (detail::has_nul(key) || detail::has_nul(value)) return fail("an env var holds a NUL byte");
    return check(procmon_spec_set_env_var(spec_, key.c_str(), value.c_str()));
  }
  /// Removes `key` from the base environment.
  Spec& unset_env_var(const std::string& key) {
    if (detail::has_nul(key)) return fail("an env var holds a NUL byte");
    return check(procmon_spec_set_env_var(spec_, key.c_str(), nullptr));
  }
  Spec& cwd(const std::string& dir) {
    if (detail::has_nul(dir)) return fail("the cwd holds a NUL byte");
    return check(procmon_spec_set_cwd(spec_, dir.c_str()));
  }
  /// The user and group; nullopt inherits.
  Spec& user(std::optional<std::int64_t> uid, std::optional<std::int64_t> gid = std::nullopt) {
    return check(procmon_spec_set_user(spec_, uid.value_or(-1), gid.value_or(-1)));
  }
  Spec& threshold(std::chrono::duration<double> d) {
    return check(procmon_spec_set_threshold(spec_, d.count()));
  }
  Spec& kill_time(std::chrono::duration<double> d) {
    return check(procmon_spec_set_kill_time(spec_, d.count()));
  }
  Spec& restart_delays(std::chrono::duration<double> min, std::chrono::duration<double> max) {
    return check(procmon_spec_set_restart_delays(spec_, min.count(), max.count()));
  }
  Spec& stop_signal(int signal) { return check(procmon_spec_set_stop_signal(spec_, signal)); }
  Spec& restart(Restart policy) {
    return check(procmon_spec_set_restart(spec_, static_cast<int>(policy)));
  }
  Spec& success_exit_codes(const std::vector<std::int32_t>& codes) {
    return check(procmon_spec_set_success_exit_codes(spec_, codes.data(), codes.size()));
  }
  /// At most `burst` starts within any `interval`; then FAILED, retried after
  /// `retry_after` (never, when zero).
  Spec& start_limit(std::uint32_t burst, std::chrono::duration<double> interval,
                    std::chrono::duration<double> retry_after = std::chrono::duration<double>(0)) {
    return check(procmon_spec_set_start_limit(spec_, burst, interval.count(), retry_after.count()));
  }
  /// How the child and what it starts are contained (default: automatic).
  Spec& containment(Containment mode) {
    return check(procmon_spec_set_containment(spec_, static_cast<int>(mode)));
  }
  /// An RLIMIT_* resource limit applied in the child.
  Spec& rlimit(int resource, std::uint64_t soft, std::uint64_t hard) {
    return check(procmon_spec_set_rlimit(spec_, resource, soft, hard));
  }

  /// How the child says it is ready (procmon_spec_set_readiness()): `arg` is the
  /// descriptor number for notify_fd, the text for line; not ready within
  /// `timeout` (0: for ever), it is stopped as an instant death.
  Spec& readiness(Readiness mode, const std::string& arg = {},
                  std::chrono::duration<double> timeout = std::chrono::duration<double>(0)) {
    if (detail::has_nul(arg)) return fail("the readiness argument holds a NUL byte");
    const bool takes_arg = mode == Readiness::notify_fd || mode == Readiness::line;
    return check(procmon_spec_set_readiness(spec_, static_cast<int>(mode),
                                            takes_arg ? arg.c_str() : nullptr, timeout.count()));
  }
  /// The watchdog (procmon_spec_set_watchdog()); needs notify_fd or sd_notify.
  Spec& watchdog(std::chrono::duration<double> timeout) {
    return check(procmon_spec_set_watchdog(spec_, timeout.count()));
  }
  /// Start order (procmon_spec_set_after()): started once each of `names` is ready.
  Spec& after(const std::vector<std::string>& names) {
    auto list = detail::c_array(names);
    if (!list) return fail("a name of after holds a NUL byte");
    return check(procmon_spec_set_after(spec_, list->data()));
  }

  /// The C spec, for functions this wrapper does not cover. Do not free it.
  const procmon_spec_t* native_handle() const noexcept { return spec_; }

 private:
  Spec& check(int rc) {
    detail::throw_if(detail::status(rc));
    return *this;
  }
  Spec& fail(const char* why) {
    detail::throw_if(detail::own_failure(PROCMON_ERR_INVALID, why));
    return *this;
  }

  procmon_spec_t* spec_ = nullptr;
};

// ---------------------------------------------------------------------------
// Monitor
// ---------------------------------------------------------------------------

/// A process monitor (procmon_t): supervises named children, restarting them with
/// backoff, and reports their output lines and lifecycle events.
class Monitor {
 public:
  /// Creates a monitor with the defaults (threshold 1 s, kill time 5 s, restart
  /// delays 1 s to 3600 s), already running. Throws Error on failure.
  Monitor() : shared_(new detail::Shared) {
    pm_ = procmon_new();
    if (!pm_) throw Error(make_error_code(errc::system), procmon_last_error());
    // Registered once for the monitor's life; the handlers behind them change.
    procmon_set_log_callback(pm_, &detail::log_trampoline, shared_.get());
    procmon_set_event_callback(pm_, &detail::event_trampoline, shared_.get());
  }

  /// Stops and reaps every child, delivers the remaining lines, frees the monitor
  /// (procmon_free()). Blocks for up to the kill time, except from inside one of
  /// this monitor's callbacks (see the top of this file).
  ~Monitor() { reset(); }

  Monitor(Monitor&& other) noexcept
      : pm_(std::exchange(other.pm_, nullptr)), shared_(std::move(other.shared_)) {}

  Monitor& operator=(Monitor&& other) noexcept {
    if (this != &other) {
      reset();
      pm_ = std::exchange(other.pm_, nullptr);
      shared_ = std::move(other.shared_);
    }
    return *this;
  }

  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  /// False for a moved-from Monitor.
  bool valid() const noexcept { return pm_ != nullptr; }

  /// The C handle, for functions this wrapper does not cover. Do not free it and
  /// do not set its callbacks: the wrapper owns both.
  procmon_t* native_handle() const noexcept { return pm_; }

  // --- Processes ---------------------------------------------------------------

  /// Registers `name` running `argv` (argv[0] is the program, searched in PATH
  /// when it holds no '/'). If the service runs, the child has been spawned (or its
  /// spawn failed, reported by a spawn_failed event) when this returns.
  /// Errors: exists (duplicate name), invalid (empty name or argv, a string with a
  /// NUL byte, an env entry without '=', empty cwd), state (shutting down).
  void add_process(const std::string& name, const std::vector<std::string>& argv,
                   const ProcessOptions& options = {}) {
    detail::throw_if(add_process_status(name, argv, options));
  }
  void add_process(const std::string& name, const std::vector<std::string>& argv,
                   const ProcessOptions& options, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return add_process_status(name, argv, options); });
  }
  void add_process(const std::string& name, const std::vector<std::string>& argv,
                   std::error_code& ec) noexcept {
    add_process(name, argv, ProcessOptions{}, ec);
  }

  /// Sends TERM (KILL after the kill time); while the service runs the child is
  /// then restarted as after any exit. No-op if it is not running.
  /// Registers `name` with a spec (copied). Same errors and waiting as add_process().
  void add(const std::string& name, const Spec& spec) { detail::throw_if(add_status(name, spec)); }
  void add(const std::string& name, const Spec& spec, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return add_status(name, spec); });
  }

  /// One name and the spec it is added with (the spec is copied by add_many()).
  using Entry = std::pair<std::string, std::reference_wrapper<const Spec>>;

  /// Adds every entry in one call to the event loop (procmon_add_many): in
  /// order, each as add() would, all or nothing (an error adds none, its
  /// message naming the index, e.g. `names[3]: ...`). When it returns, every
  /// child has been spawned (or its spawn failed), as with add(); while stopped
  /// they are registered only. An empty list does nothing. Errors as add()'s,
  /// and exists for a name given twice.
  void add_many(const std::vector<Entry>& entries) {
    detail::throw_if(add_many_status(entries));
  }
  void add_many(const std::vector<Entry>& entries, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return add_many_status(entries); });
  }
  /// add_many() with one spec for every name.
  void add_many(const std::vector<std::string>& names, const Spec& spec) {
    detail::throw_if(add_many_status(entries_of(names, spec)));
  }
  void add_many(const std::vector<std::string>& names, const Spec& spec,
                std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return add_many_status(entries_of(names, spec)); });
  }

  /// Sends `signal` to the running child (e.g. SIGHUP to reload), or with
  /// `whole_unit` to every process of its unit. Errors: state (not running),
  /// not_found, invalid (not a signal number).
  void signal_process(const std::string& name, int signal, bool whole_unit = false) {
    detail::throw_if(signal_status(name, signal, whole_unit));
  }
  void signal_process(const std::string& name, int signal, bool whole_unit,
                      std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return signal_status(name, signal, whole_unit); });
  }

  /// Where cgroups are made for cgroup and automatic containment (see
  /// procmon_set_cgroup_root()). Errors: invalid (not absolute, missing, not on
  /// cgroup v2, not writable), system.
  void set_cgroup_root(const std::string& root) {
    if (detail::has_nul(root))
      detail::throw_if(detail::own_failure(PROCMON_ERR_INVALID, "the root holds a NUL byte"));
    detail::throw_if(detail::status(procmon_set_cgroup_root(pm_, root.c_str())));
  }

  /// The host's health check failed (procmon_report_unhealthy()): handled as a
  /// missed watchdog. Errors: state (not running), not_found.
  void report_unhealthy(const std::string& name) {
    detail::throw_if(by_name(procmon_report_unhealthy, name));
  }
  void report_unhealthy(const std::string& name, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return by_name(procmon_report_unhealthy, name); });
  }

  void stop_process(const std::string& name) { detail::throw_if(by_name(procmon_stop_process, name)); }
  void stop_process(const std::string& name, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return by_name(procmon_stop_process, name); });
  }

  /// Stops the child and forgets `name`; its last run still reports its events.
  void remove_process(const std::string& name) {
    detail::throw_if(by_name(procmon_remove_process, name));
  }
  void remove_process(const std::string& name, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return by_name(procmon_remove_process, name); });
  }

  /// Spawns the child if it is not running.
  void start_process(const std::string& name) {
    detail::throw_if(by_name(procmon_start_process, name));
  }
  void start_process(const std::string& name, std::error_code& ec) noexcept {
    detail::into_code(ec, [&] { return by_name(procmon_start_process, name); });
  }

  /// stop_process() for every process.
  void restart_all() { detail::throw_if(detail::status(procmon_restart_all(pm_))); }

  /// The service: start() starts every process that is not running (a new Monitor
  /// is already started); stop() cancels scheduled restarts and stops every child
  /// without waiting; while stopped, add_process() registers without spawning.
  void start() { detail::throw_if(detail::status(procmon_start(pm_))); }
  void stop() { detail::throw_if(detail::status(procmon_stop(pm_))); }

  /// The child's pid, or 0 when it is not running. The non-throwing overload
  /// returns 0 on failure.
  std::int32_t pid(const std::string& name) const {
    std::int32_t result = 0;
    detail::throw_if(pid_status(name, result));
    return result;
  }
  std::int32_t pid(const std::string& name, std::error_code& ec) const noexcept {
    std::int32_t result = 0;
    detail::into_code(ec, [&] { return pid_status(name, result); });
    return result;
  }

  /// A consistent snapshot of one process. The non-throwing overload returns a
  /// zeroed ProcessInfo (state stopped) on failure.
  ProcessInfo info(const std::string& name) const {
    ProcessInfo result{};
    detail::throw_if(info_status(name, result));
    return result;
  }
  ProcessInfo info(const std::string& name, std::error_code& ec) const noexcept {
    ProcessInfo result{};
    detail::into_code(ec, [&] { return info_status(name, result); });
    return result;
  }

  /// The seed's repr: <ProcessMonitor 'foo'(1:2): ['arg1', 'arg2'] 'bar': ['x']>.
  std::string describe() const {
    std::unique_ptr<char, decltype(&procmon_string_free)> text(procmon_describe(pm_),
                                                               &procmon_string_free);
    if (!text) detail::throw_if(detail::status(PROCMON_ERR_INVALID));
    return text.get();
  }

  // --- Settings (durations in any std::chrono unit; Error invalid if negative) --

  /// How long a child must live for its death not to count as instant.
  void set_threshold(std::chrono::duration<double> d) { setting(procmon_set_threshold, d); }
  /// Grace between TERM and KILL.
  void set_kill_time(std::chrono::duration<double> d) { setting(procmon_set_kill_time, d); }
  /// First backoff delay (a process starts with the value in force when added).
  void set_min_restart_delay(std::chrono::duration<double> d) {
    setting(procmon_set_min_restart_delay, d);
  }
  /// Cap of the doubling backoff.
  void set_max_restart_delay(std::chrono::duration<double> d) {
    setting(procmon_set_max_restart_delay, d);
  }

  // --- Callbacks (see the top of this file) ------------------------------------

  /// Installs the per-line function; an empty function removes it.
  void on_line(LineHandler handler) { replace(&detail::Shared::on_line, std::move(handler)); }
  /// Installs the lifecycle-event function; an empty function removes it.
  void on_event(EventHandler handler) { replace(&detail::Shared::on_event, std::move(handler)); }

  /// The first exception that escaped a callback since the last call, or null.
  std::exception_ptr take_callback_exception() noexcept {
    if (!shared_) return nullptr;
    std::lock_guard<std::mutex> lock(shared_->mutex);
    return std::exchange(shared_->first_exception, nullptr);
  }

  /// How many exceptions escaped the callbacks so far (taken or not).
  std::uint64_t callback_exception_count() const noexcept {
    if (!shared_) return 0;
    std::lock_guard<std::mutex> lock(shared_->mutex);
    return shared_->exception_count;
  }

 private:
  void reset() noexcept {
    if (!pm_) return;
    procmon_free(std::exchange(pm_, nullptr));  // no callback starts after this
    detail::Shared* shared = shared_.release();
    if (detail::Frame* frame = detail::frame_of(shared))
      frame->orphaned = true;  // inside its callback: deleted when that call returns
    else
      delete shared;
  }

  int add_process_status(const std::string& name, const std::vector<std::string>& argv,
                         const ProcessOptions& options) {
    auto args = detail::c_array(argv);
    if (!args || detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "a name or argument holds a NUL byte");
    procmon_process_options_t c_options{};
    std::optional<std::vector<const char*>> env;
    if (options.env) {
      env = detail::c_array(*options.env);
      if (!env) return detail::own_failure(PROCMON_ERR_INVALID, "an env entry holds a NUL byte");
      c_options.env = env->data();
    }
    if (options.cwd) {
      if (detail::has_nul(*options.cwd))
        return detail::own_failure(PROCMON_ERR_INVALID, "the cwd holds a NUL byte");
      c_options.cwd = options.cwd->c_str();
    }
    c_options.uid = options.uid.value_or(-1);
    c_options.gid = options.gid.value_or(-1);
    c_options.stop_process_group = options.stop_process_group;
    return detail::status(procmon_add_process(pm_, name.c_str(), args->data(), &c_options));
  }

  int add_status(const std::string& name, const Spec& spec) {
    if (detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "the name holds a NUL byte");
    return detail::status(procmon_add(pm_, name.c_str(), spec.native_handle()));
  }

  static std::vector<Entry> entries_of(const std::vector<std::string>& names, const Spec& spec) {
    std::vector<Entry> entries;
    entries.reserve(names.size());
    for (const auto& name : names) entries.emplace_back(name, std::cref(spec));
    return entries;
  }

  int add_many_status(const std::vector<Entry>& entries) {
    std::vector<const char*> names;
    std::vector<const procmon_spec_t*> specs;
    names.reserve(entries.size());
    specs.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); i++) {
      if (detail::has_nul(entries[i].first)) {
        std::string what = "names[" + std::to_string(i) + "]: the name holds a NUL byte";
        return detail::own_failure(PROCMON_ERR_INVALID, what.c_str());
      }
      names.push_back(entries[i].first.c_str());
      specs.push_back(entries[i].second.get().native_handle());
    }
    return detail::status(procmon_add_many(pm_, entries.size(), names.data(), specs.data()));
  }

  int signal_status(const std::string& name, int signal, bool whole_unit) {
    if (detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "the name holds a NUL byte");
    return detail::status(procmon_signal_process(pm_, name.c_str(), signal, whole_unit));
  }

  int by_name(int (*call)(procmon_t*, const char*), const std::string& name) {
    if (detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "the name holds a NUL byte");
    return detail::status(call(pm_, name.c_str()));
  }

  int pid_status(const std::string& name, std::int32_t& result) const {
    if (detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "the name holds a NUL byte");
    return detail::status(procmon_process_pid(pm_, name.c_str(), &result));
  }

  int info_status(const std::string& name, ProcessInfo& result) const {
    if (detail::has_nul(name))
      return detail::own_failure(PROCMON_ERR_INVALID, "the name holds a NUL byte");
    procmon_process_info_t c_info{};
    const int rc = detail::status(procmon_process_info(pm_, name.c_str(), &c_info));
    if (rc == PROCMON_OK) {
      result = ProcessInfo{static_cast<State>(c_info.state),
                           c_info.pid,
                           c_info.starts,
                           std::chrono::duration<double>(c_info.uptime),
                           std::chrono::duration<double>(c_info.restart_delay),
                           c_info.last_exit_code,
                           c_info.last_signal};
    }
    return rc;
  }

  void setting(int (*call)(procmon_t*, double), std::chrono::duration<double> d) {
    detail::throw_if(detail::status(call(pm_, d.count())));
  }

  /// Swaps the function in `slot`, then re-registers the trampolines with the C
  /// library. Off the callback thread that setter waits for a call in progress,
  /// so once it returns nobody but us holds the old function: it is destroyed
  /// when `old` goes out of scope. Inside a callback the C setter does not wait,
  /// and a trampoline running the old function keeps it alive until it returns.
  template <class Handler>
  void replace(std::shared_ptr<const Handler> detail::Shared::*slot, Handler handler) {
    if (!shared_)
      detail::throw_if(detail::own_failure(PROCMON_ERR_INVALID, "a moved-from procmonpp::Monitor"));
    std::shared_ptr<const Handler> next;
    if (handler) next = std::make_shared<const Handler>(std::move(handler));
    std::shared_ptr<const Handler> old;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      old = std::exchange((*shared_).*slot, std::move(next));
    }
    const int rc = std::is_same<Handler, LineHandler>::value
                       ? procmon_set_log_callback(pm_, &detail::log_trampoline, shared_.get())
                       : procmon_set_event_callback(pm_, &detail::event_trampoline, shared_.get());
    if (rc != PROCMON_OK) {
      detail::status(rc);
      // No proof that the old function is not running: keep it until the end.
      std::lock_guard<std::mutex> lock(shared_->mutex);
      shared_->retired.push_back(std::move(old));
    }
    detail::throw_if(rc);
  }

  procmon_t* pm_ = nullptr;
  std::unique_ptr<detail::Shared> shared_;
};

}  // namespace procmonpp

#endif  // PROCMON_HPP
