# frozen_string_literal: true

module Procmon
  # Per-process specs (libprocmon 0.2): Monitor#add with every setting of
  # procmon_spec_t as a keyword argument, add_process with the same keywords,
  # Monitor#signal_process and Monitor#cgroup_root=. Kept apart from
  # monitor.rb, which it extends.
  module Native
    # The spec's setters only copy their arguments: none of them waits.
    attach_function :procmon_spec_set_env_var, %i[pointer string string], :int
    attach_function :procmon_spec_set_threshold, %i[pointer double], :int
    attach_function :procmon_spec_set_kill_time, %i[pointer double], :int
    attach_function :procmon_spec_set_restart_delays, %i[pointer double double], :int
    attach_function :procmon_spec_set_stop_signal, %i[pointer int], :int
    attach_function :procmon_spec_set_restart, %i[pointer int], :int
    attach_function :procmon_spec_set_success_exit_codes, %i[pointer pointer size_t], :int
    attach_function :procmon_spec_set_start_limit, %i[pointer uint32 double double], :int
    attach_function :procmon_spec_set_rlimit, %i[pointer int uint64 uint64], :int
    attach_function :procmon_spec_set_containment, %i[pointer int], :int
    # A round trip to the monitor's event loop; the cgroup root's cleanup.
    attach_function :procmon_signal_process, %i[pointer string int bool], :int, blocking: true
    attach_function :procmon_set_cgroup_root, %i[pointer string], :int, blocking: true
    # A round trip to the event loop for the whole batch, spawns included.
    attach_function :procmon_add_many, %i[pointer size_t pointer pointer], :int, blocking: true
  end

  # Monitor#add and the spec's keywords.
  module Specs
    RESTART = { always: 0, on_failure: 1, never: 2 }.freeze
    CONTAINMENT = { none: 0, group: 1, cgroup: 2, auto: 3 }.freeze
    # add_process's own keywords; any other makes it build a spec.
    PROCESS_OPTIONS = %i[env cwd uid gid stop_process_group].freeze

    # Registers +name+ running +argv+ with a spec (procmon_add): every keyword
    # is optional, its default the library's.
    #
    # - env: a Hash, the child's whole base environment (nil: the host's);
    #   env_vars: a Hash set on top of it, a nil value removing the key;
    #   cwd:, uid:, gid: (nil inherits).
    # - restart: :always (the seed), :on_failure (not after a success: an exit
    #   code in success_exit_codes:, default [0], or the stop signal during a
    #   requested stop), :never.
    # - stop_signal: what a stop sends first: a name (:INT, "HUP", "SIGUSR1")
    #   or a number; KILL follows after the kill time.
    # - threshold:, kill_time: seconds; restart_delays: [min, max] seconds
    #   (without them, the monitor's, following its later changes).
    # - start_limit: { burst:, interval:, retry_after: 0 }: at most burst
    #   starts in any interval seconds, then :failed with a :gave_up event,
    #   tried again retry_after seconds later (0: only by start_process/start).
    # - rlimits: { nofile: 64, core: [0, :infinity], ... } (a resource name, as
    #   Process::RLIMIT_*, or its number => a limit for both soft and hard, or
    #   [soft, hard]; :infinity is RLIM_INFINITY).
    # - containment: :auto (the default: a cgroup where one can be made, else
    #   the process group), :cgroup, :group, :none.
    # - ready: :on_start (default), :notify_fd (ready_arg: the descriptor
    #   number, e.g. "3"), :sd_notify, or :line (ready_arg: the text a line must
    #   hold); ready_timeout: seconds (0: for ever); watchdog: seconds (needs
    #   :notify_fd or :sd_notify); after: names it starts after.
    #
    # It reports :ready events. A bad value raises InvalidError, whose message
    # names the setting; an unknown Symbol raises ArgumentError.
    def add(name, argv, **options)
      name = c_string(name, "name")
      keep = []
      spec = build_spec(argv, keep, **options)
      begin
        call { |pm| Native.procmon_add(pm, name, spec) }
      ensure
        Native.procmon_spec_free(spec)
        keep.clear
      end
      self
    end

    # Adds many processes in one call to the monitor's event loop
    # (procmon_add_many): +entries+ an Array of [name, argv] or
    # [name, argv, { keywords of #add }] (or a Hash name => argv), in order,
    # each as #add would. All or nothing: an error adds none of them, its
    # message naming the index ("names[3]: ..."; ExistsError for a name
    # monitored already or given twice). Every child has been spawned when it
    # returns, as with #add; while stopped they are registered only. Use it to
    # start many processes at once: one round trip instead of one per process.
    def add_many(entries)
      entries = entries.to_a
      return self if entries.empty?

      keep = []
      specs = []
      begin
        names = entries.each_with_index.map do |(name, argv, options), i|
          name = c_string(name, "names[#{i}]")
          specs << at_index("specs[#{i}]") { build_spec(argv, keep, **(options || {})) }
          name
        end
        name_array = FFI::MemoryPointer.new(:pointer, names.size)
        names.each_with_index { |n, i| name_array[i].put_pointer(0, string_pointer(n, keep)) }
        spec_array = FFI::MemoryPointer.new(:pointer, specs.size)
        spec_array.put_array_of_pointer(0, specs)
        call { |pm| Native.procmon_add_many(pm, names.size, name_array, spec_array) }
      ensure
        specs.each { |spec| Native.procmon_spec_free(spec) }
        keep.clear
      end
      self
    end

    # The spec of #add's keywords (the caller frees it); its C strings are
    # kept alive by +keep+.
    def build_spec(argv, keep, env: nil, env_vars: nil, cwd: nil, uid: nil, gid: nil, restart: nil,
                   success_exit_codes: nil, stop_signal: nil, threshold: nil, kill_time: nil,
                   restart_delays: nil, start_limit: nil, rlimits: nil, containment: nil,
                   ready: :on_start, ready_arg: nil, ready_timeout: 0, watchdog: 0, after: [])
      mode = Readiness::MODES.fetch(ready) { raise ArgumentError, "unknown readiness #{ready.inspect}" }
      argv_ptr = string_array(Array(argv).map { |arg| c_string(arg, "argument") }, keep)
      spec = Native.procmon_spec_new(argv_ptr)
      raise Procmon.error_for(-1) if spec.null?

      begin
        check(Native.procmon_spec_set_env(spec, string_array(env_entries(env), keep))) unless env.nil?
        spec_env_vars(spec, env_vars) unless env_vars.nil?
        check(Native.procmon_spec_set_cwd(spec, c_string(cwd, "cwd"))) unless cwd.nil?
        check(Native.procmon_spec_set_user(spec, uid.nil? ? -1 : Integer(uid), gid.nil? ? -1 : Integer(gid)))
        check(Native.procmon_spec_set_restart(spec, choice(RESTART, restart, "restart"))) unless restart.nil?
        spec_exit_codes(spec, success_exit_codes) unless success_exit_codes.nil?
        check(Native.procmon_spec_set_stop_signal(spec, signal_number(stop_signal))) unless stop_signal.nil?
        check(Native.procmon_spec_set_threshold(spec, Float(threshold))) unless threshold.nil?
        check(Native.procmon_spec_set_kill_time(spec, Float(kill_time))) unless kill_time.nil?
        spec_restart_delays(spec, restart_delays) unless restart_delays.nil?
        spec_start_limit(spec, start_limit) unless start_limit.nil?
        spec_rlimits(spec, rlimits) unless rlimits.nil?
        unless containment.nil?
          check(Native.procmon_spec_set_containment(spec, choice(CONTAINMENT, containment, "containment")))
        end
        arg = ready_arg.nil? ? nil : c_string(ready_arg.to_s, "ready_arg")
        check(Native.procmon_spec_set_readiness(spec, mode, arg, Float(ready_timeout)))
        check(Native.procmon_spec_set_watchdog(spec, Float(watchdog)))
        names = Array(after).map { |n| c_string(n, "after name") }
        check(Native.procmon_spec_set_after(spec, names.empty? ? FFI::Pointer::NULL : string_array(names, keep)))
      rescue StandardError
        Native.procmon_spec_free(spec)
        raise
      end
      spec
    end

    # Runs the block; a Procmon::Error it raises is raised again with +where+
    # before its message (the index of add_many's entry).
    def at_index(where)
      yield
    rescue Procmon::Error => e
      raise e.class.new("#{where}: #{e.message}", code: e.code, detail: e.detail)
    end
    private :build_spec, :at_index

    # add_process(name, argv, env:, cwd:, uid:, gid:, stop_process_group:) as
    # in 0.1; given any keyword of #add besides those, it is #add with
    # containment: :group (stop_process_group: true) or :none unless
    # containment: says otherwise, so that what a stop reaches is the same.
    def add_process(name, argv, **options)
      return super if (options.keys - PROCESS_OPTIONS).empty?

      group = options.delete(:stop_process_group)
      options[:containment] ||= group ? :group : :none
      add(name, argv, **options)
    end

    # Sends +signal+ (a name like :HUP or "SIGUSR1", or a number) to the
    # running child of +name+, or with whole_unit: true to every process of
    # its unit (its process group or cgroup). Not a stop. StateError when it is
    # not running; InvalidError for a number that is not a signal.
    def signal_process(name, signal, whole_unit: false)
      name = c_string(name, "name")
      number = signal_number(signal)
      call { |pm| Native.procmon_signal_process(pm, name, number, whole_unit ? true : false) }
      self
    end

    # Where the cgroups of :cgroup and :auto processes are made (an absolute
    # path on cgroup v2 that this process can write), from the next spawn on;
    # what dead monitors left there is cleaned up (this may take a few
    # seconds). InvalidError says what is wrong with the path.
    def set_cgroup_root(path) # rubocop:disable Naming/AccessorMethodName
      path = c_string(path, "cgroup root")
      call { |pm| Native.procmon_set_cgroup_root(pm, path) }
      @cgroup_root = path
      self
    end

    def cgroup_root=(path)
      set_cgroup_root(path)
    end

    # The root set by #cgroup_root=, or nil: the library's own (procmon under
    # this process's cgroup).
    def cgroup_root
      @cgroup_root
    end

    private

    def choice(table, value, what)
      return value if value.is_a?(Integer) # the library checks it

      table.fetch(value) do
        raise ArgumentError, "unknown #{what} #{value.inspect} (one of #{table.keys.map(&:inspect).join(', ')})"
      end
    end

    def signal_number(signal)
      return signal if signal.is_a?(Integer)

      text = c_string(signal, "signal").upcase.delete_prefix("SIG")
      Signal.list.fetch(text) { raise ArgumentError, "unknown signal #{signal.inspect}" }
    end

    def spec_env_vars(spec, vars)
      raise TypeError, "env_vars must be a Hash, not #{vars.class}" unless vars.is_a?(Hash)

      vars.each do |key, value|
        value = c_string(value, "env_vars value") unless value.nil?
        check(Native.procmon_spec_set_env_var(spec, c_string(key, "env_vars key"), value))
      end
    end

    def spec_exit_codes(spec, codes)
      codes = Array(codes).map { |c| Integer(c) }
      buffer = FFI::MemoryPointer.new(:int32, [codes.size, 1].max)
      buffer.write_array_of_int32(codes) unless codes.empty?
      check(Native.procmon_spec_set_success_exit_codes(spec, buffer, codes.size))
    end

    def spec_restart_delays(spec, delays)
      min, max = Array(delays)
      raise ArgumentError, "restart_delays must be [min, max], not #{delays.inspect}" if max.nil? || delays.size != 2

      check(Native.procmon_spec_set_restart_delays(spec, Float(min), Float(max)))
    end

    def spec_start_limit(spec, limit)
      raise TypeError, "start_limit must be a Hash, not #{limit.class}" unless limit.is_a?(Hash)

      unknown = limit.keys - %i[burst interval retry_after]
      raise ArgumentError, "unknown start_limit key(s): #{unknown.join(', ')}" unless unknown.empty?

      burst = Integer(limit.fetch(:burst) { raise ArgumentError, "start_limit needs burst:" })
      raise ArgumentError, "start_limit burst #{burst} is out of range (0 is no limit)" unless burst.between?(0, 2**32 - 1)

      interval = Float(limit.fetch(:interval) { raise ArgumentError, "start_limit needs interval:" })
      check(Native.procmon_spec_set_start_limit(spec, burst, interval, Float(limit.fetch(:retry_after, 0))))
    end

    def spec_rlimits(spec, rlimits)
      raise TypeError, "rlimits must be a Hash, not #{rlimits.class}" unless rlimits.is_a?(Hash)

      rlimits.each do |resource, limit|
        soft, hard = limit.is_a?(Array) ? limit : [limit, limit]
        raise ArgumentError, "rlimit #{resource}: #{limit.inspect} is not a limit or [soft, hard]" if hard.nil?

        check(Native.procmon_spec_set_rlimit(spec, rlimit_resource(resource), rlimit_value(soft, resource),
                                             rlimit_value(hard, resource)))
      end
    end

    def rlimit_resource(resource)
      return resource if resource.is_a?(Integer)

      name = "RLIMIT_#{c_string(resource, 'rlimit resource').upcase.delete_prefix('RLIMIT_')}"
      raise ArgumentError, "unknown rlimit resource #{resource.inspect}" unless Process.const_defined?(name)

      Process.const_get(name)
    end

    def rlimit_value(value, resource)
      return Process::RLIM_INFINITY if value == :infinity || value == Process::RLIM_INFINITY

      value = Integer(value)
      raise ArgumentError, "rlimit #{resource}: #{value} is negative" if value.negative?

      value
    end
  end

  Monitor.prepend(Specs)
end
