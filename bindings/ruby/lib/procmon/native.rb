# frozen_string_literal: true

require "ffi"
require_relative "version"

module Procmon
  # The raw C API of libprocmon (include/procmon.h), attached with the ffi gem.
  # Private to the binding: use Procmon::Monitor.
  module Native
    extend FFI::Library

    # The library's soname: the name programs linked against it look for.
    SONAME = "libprocmon.so.#{VERSION.split('.').first}"

    # Which library to load, in this order:
    # 1. $PROCMON_LIB, a path (or a name for dlopen): the override;
    # 2. inside the procmon checkout (not an installed gem), the checkout's
    #    release build, so that the binding's tests use what was just built;
    # 3. SONAME through the system's search: LD_LIBRARY_PATH, then the
    #    loader's cache and default directories (an installed library).
    def self.library_path
      return ENV["PROCMON_LIB"] if ENV["PROCMON_LIB"] && !ENV["PROCMON_LIB"].empty?

      checkout = File.expand_path("../../../..", __dir__)
      built = File.join(checkout, "target/release/libprocmon.so")
      return built if File.exist?(File.join(checkout, "Cargo.toml")) && File.exist?(built)

      SONAME
    end

    begin
      ffi_lib library_path
    rescue LoadError => e
      raise LoadError, "procmon: cannot load #{library_path} (#{e.message.lines.first&.chomp}): " \
                       "install libprocmon (cmake --install of its build) where the system's " \
                       "loader finds it, or set LD_LIBRARY_PATH to its directory, or PROCMON_LIB " \
                       "to the library's path"
    end

    # procmon_process_options_t
    class ProcessOptions < FFI::Struct
      layout :env, :pointer,
             :cwd, :pointer,
             :uid, :int64,
             :gid, :int64,
             :stop_process_group, :bool
    end

    # procmon_event_t
    class Event < FFI::Struct
      layout :kind, :int,
             :name, :pointer,
             :pid, :int32,
             :exit_code, :int32,
             :signal, :int32,
             :error, :int32,
             :uptime, :double,
             :delay, :double,
             # 0.2
             :timestamp, :double,
             :flags, :uint32,
             :user_cpu, :double,
             :sys_cpu, :double,
             :max_rss_kib, :int64,
             :containment, :int32,
             :detail, :pointer
    end

    # procmon_record_t (pull delivery; the library owns it)
    class Record < FFI::Struct
      layout :kind, :int,
             :name, :pointer,
             :stream, :int,
             :line, :pointer,
             :len, :size_t,
             :event, :pointer
    end

    # procmon_process_info_t
    class ProcessInfo < FFI::Struct
      layout :state, :int,
             :pid, :int32,
             :starts, :uint64,
             :uptime, :double,
             :restart_delay, :double,
             :last_exit_code, :int32,
             :last_signal, :int32
    end

    callback :log_fn, %i[pointer pointer int pointer size_t], :void
    callback :event_fn, %i[pointer pointer], :void

    # Everything that may wait (a round trip to the monitor's event loop, or a
    # wait for a callback in progress) releases the GVL, so that callbacks,
    # which need the GVL, can run meanwhile.
    WAITS = { blocking: true }.freeze

    attach_function :procmon_new, [], :pointer
    attach_function :procmon_free, [:pointer], :void, WAITS
    attach_function :procmon_set_log_callback, %i[pointer log_fn pointer], :int, WAITS
    attach_function :procmon_set_event_callback, %i[pointer event_fn pointer], :int, WAITS
    attach_function :procmon_set_threshold, %i[pointer double], :int, WAITS
    attach_function :procmon_set_kill_time, %i[pointer double], :int, WAITS
    attach_function :procmon_set_min_restart_delay, %i[pointer double], :int, WAITS
    attach_function :procmon_set_max_restart_delay, %i[pointer double], :int, WAITS
    attach_function :procmon_add_process, %i[pointer string pointer pointer], :int, WAITS
    attach_function :procmon_remove_process, %i[pointer string], :int, WAITS
    attach_function :procmon_start_process, %i[pointer string], :int, WAITS
    attach_function :procmon_stop_process, %i[pointer string], :int, WAITS
    attach_function :procmon_restart_all, [:pointer], :int, WAITS
    attach_function :procmon_start, [:pointer], :int, WAITS
    attach_function :procmon_stop, [:pointer], :int, WAITS
    attach_function :procmon_process_pid, %i[pointer string pointer], :int, WAITS
    attach_function :procmon_process_info, %i[pointer string pointer], :int, WAITS
    attach_function :procmon_describe, [:pointer], :pointer, WAITS
    # Pull delivery: none of these waits (procmon_next never blocks).
    attach_function :procmon_set_delivery, %i[pointer int], :int, WAITS
    attach_function :procmon_poll_fd, [:pointer], :int
    attach_function :procmon_next, %i[pointer pointer], :int
    attach_function :procmon_shutdown, [:pointer], :int
    attach_function :procmon_string_free, [:pointer], :void
    attach_function :procmon_strerror, [:int], :string
    attach_function :procmon_last_error, [], :string
    attach_function :procmon_version, [], :string
  end
end
