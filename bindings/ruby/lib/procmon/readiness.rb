# frozen_string_literal: true

module Procmon
  # Readiness, watchdog and start order (libprocmon 0.2): Monitor#add with
  # ready:/watchdog:/after:, Monitor#on_ready, Monitor#report_unhealthy, the
  # :ready event and the :starting state. Kept apart from monitor.rb, which
  # it extends.
  module Native
    WAITS_READY = { blocking: true }.freeze
    attach_function :procmon_spec_new, [:pointer], :pointer
    attach_function :procmon_spec_free, [:pointer], :void
    attach_function :procmon_spec_set_env, %i[pointer pointer], :int
    attach_function :procmon_spec_set_cwd, %i[pointer string], :int
    attach_function :procmon_spec_set_user, %i[pointer int64 int64], :int
    attach_function :procmon_spec_set_readiness, %i[pointer int string double], :int
    attach_function :procmon_spec_set_watchdog, %i[pointer double], :int
    attach_function :procmon_spec_set_after, %i[pointer pointer], :int
    attach_function :procmon_add, %i[pointer string pointer], :int, WAITS_READY
    attach_function :procmon_report_unhealthy, %i[pointer string], :int, WAITS_READY
  end

  # What the :ready event and state look like to the rest of the binding.
  module Readiness
    MODES = { on_start: 0, notify_fd: 1, sd_notify: 2, line: 3 }.freeze
    READY = 7
    STARTING = 5

    # Registers +name+ running +argv+ as #add_process does (env:, cwd:, uid:,
    # gid:), with how it says it is ready: ready: :on_start (default),
    # :notify_fd (ready_arg: the descriptor number, e.g. "3"), :sd_notify, or
    # :line (ready_arg: the text a line must hold); ready_timeout: seconds (0:
    # for ever); watchdog: seconds (needs :notify_fd or :sd_notify); after:
    # names it starts after. It reports :ready events.
    def add(name, argv, ready: :on_start, ready_arg: nil, ready_timeout: 0, watchdog: 0,
            after: [], env: nil, cwd: nil, uid: nil, gid: nil)
      name = c_string(name, "name")
      mode = MODES.fetch(ready) { raise ArgumentError, "unknown readiness #{ready.inspect}" }
      keep = []
      argv_ptr = string_array(Array(argv).map { |arg| c_string(arg, "argument") }, keep)
      spec = Native.procmon_spec_new(argv_ptr)
      raise Procmon.error_for(-1) if spec.null?

      begin
        build_spec(spec, mode, ready_arg, ready_timeout, watchdog, after, env, cwd, uid, gid, keep)
        call { |pm| Native.procmon_add(pm, name, spec) }
      ensure
        Native.procmon_spec_free(spec)
        keep.clear
      end
      self
    end

    # on_ready { |name, pid| ... }: called (on the callback thread, before the
    # #on_event block sees the same :ready event) when a run is ready.
    # Without a block, removes it.
    def on_ready(&block)
      @ready_handler = block
      self
    end

    # The host's own health check of +name+ failed: handled as a missed
    # watchdog. StateError when it is not running.
    def report_unhealthy(name)
      name = c_string(name, "name")
      call { |pm| Native.procmon_report_unhealthy(pm, name) }
      self
    end

    def info(name)
      snapshot = super
      snapshot.state = :starting if snapshot.state == STARTING
      snapshot
    end

    private

    def build_spec(spec, mode, arg, timeout, watchdog, after, env, cwd, uid, gid, keep)
      check(Native.procmon_spec_set_env(spec, string_array(env_entries(env), keep))) unless env.nil?
      check(Native.procmon_spec_set_cwd(spec, c_string(cwd, "cwd"))) unless cwd.nil?
      check(Native.procmon_spec_set_user(spec, uid.nil? ? -1 : Integer(uid), gid.nil? ? -1 : Integer(gid)))
      arg = arg.nil? ? nil : c_string(arg.to_s, "ready_arg")
      check(Native.procmon_spec_set_readiness(spec, mode, arg, Float(timeout)))
      check(Native.procmon_spec_set_watchdog(spec, Float(watchdog)))
      names = Array(after).map { |n| c_string(n, "after name") }
      check(Native.procmon_spec_set_after(spec, names.empty? ? FFI::Pointer::NULL : string_array(names, keep)))
    end

    def deliver_event(pointer)
      raw = Native::Event.new(pointer)
      handler = @ready_handler
      if raw[:kind] == READY && handler && !@muted
        name = -raw[:name].read_string.force_encoding(Encoding::UTF_8)
        pid = raw[:pid]
        run_callback(:ready) { handler.call(name, pid) }
      end
      super
    end

    def convert_event(raw)
      return super unless raw[:kind] == READY

      Event.new(kind: :ready, name: -raw[:name].read_string.force_encoding(Encoding::UTF_8),
                pid: raw[:pid])
    end
  end

  Monitor.prepend(Readiness)
end
