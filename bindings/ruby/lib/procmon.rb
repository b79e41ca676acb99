# frozen_string_literal: true

# Ruby binding of libprocmon: supervise child processes (Twisted's
# ProcessMonitor). See bindings/ruby/README.md.
module Procmon
  # Base of every error the binding raises. +code+ is the library's
  # procmon_error_t (a negative Integer; nil for CallbackError), +detail+ the
  # text of procmon_last_error() for the failed call.
  class Error < StandardError
    attr_reader :code, :detail

    def initialize(message = nil, code: nil, detail: nil)
      @code = code
      @detail = detail
      super(message)
    end
  end

  # PROCMON_ERR_INVALID: a bad argument (empty name, negative duration, ...).
  class InvalidError < Error; end
  # PROCMON_ERR_EXISTS: add_process with a name already monitored.
  class ExistsError < Error; end
  # PROCMON_ERR_NOT_FOUND: an unknown process name.
  class NotFoundError < Error; end
  # PROCMON_ERR_STATE: not allowed now (shutting down, or the Monitor is closed).
  class StateError < Error; end
  # PROCMON_ERR_SYSTEM: an OS call failed inside the library. Not related to
  # Ruby's ::SystemCallError (Errno::*), which the binding never raises.
  class SystemError < Error; end
  # PROCMON_ERR_INTERNAL: a bug in the library (a caught panic).
  class InternalError < Error; end

  # A callback block raised: the exception was kept (it must not cross into C)
  # and is raised, wrapped in this, from the next call on the Monitor or from
  # #close. The original exception is #cause; #callback is :line or :event.
  class CallbackError < Error
    attr_reader :callback

    def initialize(message = nil, callback: nil)
      @callback = callback
      super(message)
    end
  end

  ERROR_CLASSES = {
    -1 => InvalidError,
    -2 => ExistsError,
    -3 => NotFoundError,
    -4 => StateError,
    -5 => SystemError,
    -6 => InternalError
  }.freeze

  # One lifecycle event. +kind+ is :started, :exited, :spawn_failed,
  # :restart_scheduled, :killed, :gave_up (the start limit was reached) or
  # :ready; fields that do not apply to the kind are nil: pid (started,
  # exited, killed, ready), exit_code or signal (exited), error (the errno of
  # spawn_failed), uptime (exited, seconds), delay (restart_scheduled; gave_up:
  # seconds until the retry, 0 for none).
  #
  # Since 0.2: timestamp (a Time, every kind); for exited, flags (an Array of
  # :expected, :requested, :core_dumped, :timeout, :watchdog,
  # :status_unknown), user_cpu and sys_cpu (seconds) and max_rss_kib (0 when
  # unknown); for started, containment (:none, :group or :cgroup: what the
  # run got) and detail (why it got less than asked, once, or nil).
  Event = Struct.new(:kind, :name, :pid, :exit_code, :signal, :error, :uptime, :delay,
                     :timestamp, :flags, :user_cpu, :sys_cpu, :max_rss_kib, :containment,
                     :detail, keyword_init: true)

  # A snapshot of one process (Monitor#info). +state+ is :stopped, :running,
  # :stopping, :backoff, :starting (not ready yet, or waiting for the
  # processes it comes after) or :failed (the start limit was reached); pid is nil unless running or stopping;
  # last_exit_code and last_signal are nil when they do not apply.
  Info = Struct.new(:state, :pid, :starts, :uptime, :restart_delay, :last_exit_code,
                    :last_signal, keyword_init: true)
end

require_relative "procmon/version"
require_relative "procmon/native"
require_relative "procmon/monitor"
require_relative "procmon/readiness"
require_relative "procmon/spec"

module Procmon
  # The library's version, e.g. "0.1.0".
  def self.version
    Native.procmon_version.dup.force_encoding(Encoding::UTF_8)
  end

  # The library's static text for an error code.
  def self.strerror(code)
    Native.procmon_strerror(Integer(code)).dup.force_encoding(Encoding::UTF_8)
  end

  # The exception for a failed call: read procmon_last_error() right after the
  # failing call, on the same thread (it is thread-local in the library).
  def self.error_for(code) # :nodoc:
    detail = Native.procmon_last_error.dup.force_encoding(Encoding::UTF_8)
    klass = ERROR_CLASSES.fetch(code, Error)
    message = if !detail.empty? then detail
              elsif code then strerror(code)
              else "the call failed"
              end
    klass.new(message, code: code, detail: detail)
  end
end
