# frozen_string_literal: true

module Procmon
  # A process monitor (libprocmon's procmon_t): supervises named child
  # processes, restarts them with backoff, and hands their output lines and
  # lifecycle events to blocks. It runs (the service is started) from creation.
  #
  # Callback blocks (#on_line, #on_event) run on a Ruby thread of their own,
  # one at a time, never on the thread that registered them: the monitor
  # delivers by pull (procmon_set_delivery), and that thread waits on the
  # library's descriptor (an IO) and takes each line and event with
  # procmon_next, so no Ruby code ever runs on a C thread. They may call any
  # method of the Monitor, #close included (a close from a callback completes
  # in the background). An exception raised by a block never reaches C: the
  # first one is kept and raised, as a CallbackError whose #cause it is, from
  # the next method called on the Monitor outside a callback, or from #close.
  #
  # A Monitor must be closed (#close, or use Monitor.open with a block); until
  # then it is kept alive even without references, and Ruby closes the monitors
  # still open when it exits.
  #
  # After a fork, the child's copy of a Monitor is closed at once by #close (or
  # at exit) without touching the parent's children; any other call on it raises
  # StateError. The parent's Monitor is unaffected.
  class Monitor
    STREAMS = { 1 => :stdout, 2 => :stderr }.freeze
    KINDS = { 1 => :started, 2 => :exited, 3 => :spawn_failed, 4 => :restart_scheduled,
              5 => :killed, 6 => :gave_up, 7 => :ready }.freeze
    STATES = { 0 => :stopped, 1 => :running, 2 => :stopping, 3 => :backoff, 4 => :failed,
               5 => :starting }.freeze
    # PROCMON_EXIT_* bits, in the order Event#flags lists them.
    EXIT_FLAGS = { 1 => :expected, 2 => :requested, 4 => :core_dumped, 8 => :timeout,
                   16 => :watchdog, 32 => :status_unknown }.freeze
    CONTAINED = { 0 => :none, 1 => :group, 2 => :cgroup, 3 => :auto }.freeze
    DELIVERY_PULL = 1
    ERR_AGAIN = -7
    RECORD_LINE = 1
    RECORD_EVENT = 2
    RECORD_END = 3
    SETTINGS = { threshold: :procmon_set_threshold, kill_time: :procmon_set_kill_time,
                 min_restart_delay: :procmon_set_min_restart_delay,
                 max_restart_delay: :procmon_set_max_restart_delay }.freeze
    DEFAULTS = { threshold: 1.0, kill_time: 5.0, min_restart_delay: 1.0,
                 max_restart_delay: 3600.0 }.freeze
    private_constant :STREAMS, :KINDS, :STATES, :EXIT_FLAGS, :CONTAINED, :SETTINGS, :DEFAULTS, :DELIVERY_PULL, :ERR_AGAIN,
                     :RECORD_LINE, :RECORD_EVENT, :RECORD_END

    # Open monitors (so that C never calls the callbacks of a collected object)
    # and the threads finishing a close requested from a callback.
    @open = {}.compare_by_identity
    @closers = []
    @registry_lock = Mutex.new

    class << self
      # Monitor.open(**settings) { |m| ... } closes the monitor when the block
      # ends, even on an exception, and returns the block's value. Without a
      # block it is Monitor.new.
      def open(**settings)
        monitor = new(**settings)
        return monitor unless block_given?

        begin
          result = yield monitor
        rescue Exception # rubocop:disable Lint/RescueException
          monitor.send(:close_quietly)
          raise
        end
        monitor.close
        result
      end

      # Closes every monitor still open, then waits for closes started from
      # callbacks. Run at exit.
      def close_all
        monitors = @registry_lock.synchronize { @open.keys }
        monitors.each { |m| m.send(:close_quietly) }
        closers = @registry_lock.synchronize { @closers.dup }
        closers.each(&:join)
      end

      private

      def track(monitor)
        @registry_lock.synchronize { @open[monitor] = true }
      end

      def untrack(monitor)
        @registry_lock.synchronize { @open.delete(monitor) }
      end

      def closer(thread)
        @registry_lock.synchronize do
          @closers.select!(&:alive?)
          @closers << thread
        end
      end
    end

    # Creates a running monitor. Settings (seconds) may be given here:
    # threshold:, kill_time:, min_restart_delay:, max_restart_delay:.
    def initialize(**settings)
      unknown = settings.keys - SETTINGS.keys
      raise ArgumentError, "unknown setting(s): #{unknown.join(', ')}" unless unknown.empty?

      @lock = Mutex.new
      @line_handler = nil
      @event_handler = nil
      @callback_error = nil
      @muted = false
      @lines_muted = false
      @stop_pump = false
      @settings = DEFAULTS.dup
      # Held by the pump while a block runs, so that replacing a handler from
      # another thread waits for the call in progress.
      @dispatch = Mutex.new
      @owner = Process.pid
      ptr = Native.procmon_new
      raise Procmon.error_for(-5) if ptr.null?

      @ptr = ptr
      self.class.send(:track, self)
      begin
        check(Native.procmon_set_delivery(ptr, DELIVERY_PULL))
        fd = Native.procmon_poll_fd(ptr)
        check(fd) if fd.negative?
        @records = IO.for_fd(fd, autoclose: false) # the library's descriptor
        @wake, @waker = IO.pipe # stops the pump when it must not wait for END
        @pump = Thread.new { pump(ptr) }
        @pump.name = "procmon-pump" if @pump.respond_to?(:name=)
        settings.each { |key, value| set(key, value) }
      rescue Exception # rubocop:disable Lint/RescueException
        close_quietly
        raise
      end
    end

    # on_line { |name, stream, line| ... }: called for every line of output,
    # without its "\n"; stream is :stdout or :stderr, line a binary String.
    # Without a block, removes the handler. Called outside a callback, the
    # previous block is not running any more when this returns.
    def on_line(&block)
      replace_handler(:@line_handler, block)
    end

    # on_event { |event| ... }: called with a Procmon::Event for every
    # lifecycle event. Without a block, removes the handler. Same guarantee as
    # #on_line.
    def on_event(&block)
      replace_handler(:@event_handler, block)
    end

    SETTINGS.each_key do |key|
      define_method(key) { @settings[key] }
      define_method(:"#{key}=") { |seconds| set(key, seconds) }
    end

    # Registers +name+ running +argv+ (["prog", "arg", ...]; prog is searched
    # in PATH when it has no "/"). env: a Hash (the child's whole environment)
    # or nil (inherit); cwd:, uid:, gid: nil inherit. stop_process_group: true
    # signals the child's whole process group when stopping it. If the service
    # runs, the child has been spawned (or its spawn failed) on return. With
    # any keyword of #add besides these, it is #add (see spec.rb).
    def add_process(name, argv, env: nil, cwd: nil, uid: nil, gid: nil, stop_process_group: false)
      name = c_string(name, "name")
      argv = Array(argv).map { |arg| c_string(arg, "argument") }
      keep = []
      argv_ptr = string_array(argv, keep)
      opts = Native::ProcessOptions.new
      opts[:env] = env.nil? ? FFI::Pointer::NULL : string_array(env_entries(env), keep)
      opts[:cwd] = cwd.nil? ? FFI::Pointer::NULL : string_pointer(c_string(cwd, "cwd"), keep)
      opts[:uid] = uid.nil? ? -1 : Integer(uid)
      opts[:gid] = gid.nil? ? -1 : Integer(gid)
      opts[:stop_process_group] = stop_process_group ? true : false
      call { |pm| Native.procmon_add_process(pm, name, argv_ptr, opts) }
      keep.clear # keeps the strings referenced until here
      self
    end

    # Stops the child and forgets +name+ (never restarted). Does not wait.
    def remove_process(name)
      name = c_string(name, "name")
      call { |pm| Native.procmon_remove_process(pm, name) }
      self
    end

    # Spawns the child if it is not running.
    def start_process(name)
      name = c_string(name, "name")
      call { |pm| Native.procmon_start_process(pm, name) }
      self
    end

    # Sends TERM (KILL after the kill time); restarted while the service runs.
    def stop_process(name)
      name = c_string(name, "name")
      call { |pm| Native.procmon_stop_process(pm, name) }
      self
    end

    # stop_process for every process.
    def restart_all
      call { |pm| Native.procmon_restart_all(pm) }
      self
    end

    # The seed's startService: starts every process that is not running.
    def start
      call { |pm| Native.procmon_start(pm) }
      self
    end

    # The seed's stopService: stops every child, cancels restarts; no waiting.
    def stop
      call { |pm| Native.procmon_stop(pm) }
      self
    end

    # The child's pid, or nil when it is not running.
    def pid(name)
      name = c_string(name, "name")
      out = FFI::MemoryPointer.new(:int32)
      call { |pm| Native.procmon_process_pid(pm, name, out) }
      pid = out.read_int32
      pid.zero? ? nil : pid
    end

    # A Procmon::Info snapshot of one process.
    def info(name)
      name = c_string(name, "name")
      raw = Native::ProcessInfo.new
      call { |pm| Native.procmon_process_info(pm, name, raw) }
      Info.new(state: STATES.fetch(raw[:state], raw[:state]),
               pid: raw[:pid].zero? ? nil : raw[:pid],
               starts: raw[:starts], uptime: raw[:uptime], restart_delay: raw[:restart_delay],
               last_exit_code: raw[:last_exit_code].negative? ? nil : raw[:last_exit_code],
               last_signal: raw[:last_signal].zero? ? nil : raw[:last_signal])
    end

    # The seed's repr: <ProcessMonitor 'foo': ['arg1', 'arg2']>.
    def describe
      raise_callback_error unless in_own_callback?
      text = Native.procmon_describe(live_pointer)
      raise Procmon.error_for(nil) if text.null?

      begin
        text.read_string.force_encoding(Encoding::UTF_8)
      ensure
        Native.procmon_string_free(text)
      end
    end

    def to_s
      return "<ProcessMonitor (closed)>" if closed?

      text = Native.procmon_describe(@ptr || FFI::Pointer::NULL)
      return "<ProcessMonitor (unavailable)>" if text.null?

      begin
        text.read_string.force_encoding(Encoding::UTF_8)
      ensure
        Native.procmon_string_free(text)
      end
    end

    def inspect
      "#<#{self.class.name} #{self}>"
    end

    # True once #close has been called.
    def closed?
      @ptr.nil?
    end

    # Stops the service, stops every child (TERM, then KILL after the kill
    # time), waits until all are reaped, and frees the monitor. Idempotent.
    #
    # drain: false (the default) detaches the #on_line block first: output not
    # yet delivered is discarded, so close is prompt even while children flood
    # their output. Lifecycle events (:killed, :exited) are still delivered.
    # drain: true delivers every remaining line first, like procmon_free(); a
    # line costs a Ruby thread switch (about 10,000 lines a second), so this
    # may take long when children write fast.
    #
    # Called from a callback it returns at once: no callback runs after that
    # one, and the cleanup completes in a background thread. Otherwise a
    # pending CallbackError is raised after the cleanup.
    def close(drain: false)
      close_quietly(drain: drain)
      raise_callback_error unless in_own_callback?
      nil
    end

    private

    def close_quietly(drain: false)
      ptr = @lock.synchronize do
        taken = @ptr
        @ptr = nil
        taken
      end
      return if ptr.nil?

      if Process.pid != @owner
        # A forked child's copy: its pump thread does not exist here, and
        # procmon_free only lets go of the copy (the parent's children are
        # the parent's).
        Native.procmon_free(ptr)
        self.class.send(:untrack, self)
      elsif in_own_callback?
        # On the pump thread: no block runs after this one; the pump stops
        # when it returns, and the cleanup finishes in the background.
        @muted = true
        stop_pump
        Native.procmon_shutdown(ptr)
        self.class.send(:closer, Thread.new { free(ptr) })
      else
        # drain: false mutes the lines from now on; events still come.
        @lines_muted = true unless drain
        # The children are stopped; the pump takes the last records up to END.
        stop_pump unless Native.procmon_shutdown(ptr).zero?
        free(ptr)
      end
    end

    def free(ptr)
      @pump&.join
      # The pump has stopped: nothing calls procmon_next any more.
      Native.procmon_free(ptr)
      [@wake, @waker].each { |io| io&.close unless io&.closed? }
      self.class.send(:untrack, self)
    end

    def stop_pump
      @stop_pump = true
      @waker&.write_nonblock(".", exception: false)
    end

    # The pump thread: waits on the library's descriptor and runs the blocks
    # for each record, until END (after procmon_shutdown) or #stop_pump.
    def pump(ptr)
      out = FFI::MemoryPointer.new(:pointer)
      until @stop_pump
        IO.select([@records, @wake])
        loop do
          break if @stop_pump

          code = Native.procmon_next(ptr, out)
          break if code == ERR_AGAIN
          return unless code.zero? # the monitor failed: nothing more comes

          record = Native::Record.new(out.read_pointer)
          case record[:kind]
          when RECORD_LINE then deliver_line(record)
          when RECORD_EVENT then deliver_event(record[:event])
          when RECORD_END then return
          end
        end
      end
    end

    def set(key, seconds)
      seconds = Float(seconds)
      call { |pm| Native.send(SETTINGS.fetch(key), pm, seconds) }
      @settings[key] = seconds
    end

    def replace_handler(ivar, block)
      raise_callback_error unless in_own_callback?
      live_pointer
      instance_variable_set(ivar, block)
      # Waits for a block in progress on the pump thread.
      @dispatch.synchronize { nil } unless in_own_callback?
      self
    end

    def call
      raise_callback_error unless in_own_callback?
      check(yield(live_pointer))
    end

    def check(code)
      raise Procmon.error_for(code) unless code.zero?
    end

    def live_pointer
      @ptr or raise StateError.new("the monitor is closed", code: -4, detail: "")
    end

    def raise_callback_error
      kind, exception = @lock.synchronize do
        pending = @callback_error
        @callback_error = nil
        pending
      end
      return unless exception

      raise CallbackError.new("the #{kind} callback raised #{exception.class}: #{exception.message}",
                              callback: kind), cause: exception
    end

    def in_own_callback?
      stack = Thread.current[:procmon_callbacks]
      stack ? stack.include?(self) : false
    end

    def run_callback(kind)
      stack = (Thread.current[:procmon_callbacks] ||= [])
      stack.push(self)
      begin
        yield
      ensure
        stack.pop
      end
    rescue Exception => e # rubocop:disable Lint/RescueException
      # Nothing may unwind into C: keep the first one for the caller.
      @lock.synchronize { @callback_error ||= [kind, e] }
    end

    def deliver_line(record)
      @dispatch.synchronize do
        handler = @line_handler
        next if handler.nil? || @muted || @lines_muted

        stream = record[:stream]
        run_callback(:line) do
          handler.call(-record[:name].read_string.force_encoding(Encoding::UTF_8),
                       STREAMS.fetch(stream, stream), record[:line].get_bytes(0, record[:len]))
        end
      end
    end

    def deliver_event(pointer)
      @dispatch.synchronize do
        handler = @event_handler
        next if handler.nil? || @muted

        run_callback(:event) { handler.call(convert_event(Native::Event.new(pointer))) }
      end
    end

    def convert_event(raw)
      kind = KINDS.fetch(raw[:kind], raw[:kind])
      exited = kind == :exited
      started = kind == :started
      Event.new(kind: kind,
                name: -raw[:name].read_string.force_encoding(Encoding::UTF_8),
                pid: %i[started exited killed ready].include?(kind) ? raw[:pid] : nil,
                exit_code: exited && raw[:exit_code] >= 0 ? raw[:exit_code] : nil,
                signal: exited && raw[:signal] != 0 ? raw[:signal] : nil,
                error: kind == :spawn_failed ? raw[:error] : nil,
                uptime: exited ? raw[:uptime] : nil,
                delay: %i[restart_scheduled gave_up].include?(kind) ? raw[:delay] : nil,
                timestamp: Time.at(raw[:timestamp]),
                flags: exited ? exit_flags(raw[:flags]) : nil,
                user_cpu: exited ? raw[:user_cpu] : nil,
                sys_cpu: exited ? raw[:sys_cpu] : nil,
                max_rss_kib: exited ? raw[:max_rss_kib] : nil,
                containment: started ? CONTAINED.fetch(raw[:containment], raw[:containment]) : nil,
                detail: started && !raw[:detail].null? ? raw[:detail].read_string.force_encoding(Encoding::UTF_8) : nil)
    end

    # The PROCMON_EXIT_* bits as symbols; a bit this binding does not know
    # stays an Integer.
    def exit_flags(bits)
      known = EXIT_FLAGS.select { |bit, _| bits & bit != 0 }
      rest = bits & ~EXIT_FLAGS.keys.sum
      known.values + (rest.zero? ? [] : [rest])
    end

    def c_string(value, what)
      string = value.is_a?(Symbol) ? value.to_s : String.try_convert(value)
      raise TypeError, "#{what} must be a String, not #{value.class}" unless string
      raise ArgumentError, "#{what} contains a NUL byte: #{string.inspect}" if string.include?("\0")

      string
    end

    def env_entries(env)
      raise TypeError, "env must be a Hash or nil, not #{env.class}" unless env.is_a?(Hash)

      env.map do |key, value|
        key = c_string(key, "env key")
        raise ArgumentError, "bad env key: #{key.inspect}" if key.empty? || key.include?("=")

        "#{key}=#{c_string(value, 'env value')}"
      end
    end

    def string_pointer(string, keep)
      pointer = FFI::MemoryPointer.from_string(string)
      keep << pointer
      pointer
    end

    # A NULL-terminated char* array.
    def string_array(strings, keep)
      array = FFI::MemoryPointer.new(:pointer, strings.size + 1)
      strings.each_with_index { |s, i| array[i].put_pointer(0, string_pointer(s, keep)) }
      array[strings.size].put_pointer(0, FFI::Pointer::NULL)
      keep << array
      array
    end
  end

  at_exit { Monitor.close_all }
end
