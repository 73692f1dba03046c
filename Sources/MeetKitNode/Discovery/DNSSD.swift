import CDNSSD
import Dispatch
import Foundation

/// DNS-SD through Avahi's dns_sd compatibility library: publishes adverts, browses for
/// `_meetkit._tcp`, and follows every service found through resolve (port and TXT record) and
/// an A-record query (its IPv4 address; Avahi has no `DNSServiceGetAddrInfo`).
///
/// Every call into the library, and every callback out of it, happens on one serial queue,
/// where each handle's socket is watched by a dispatch source. Events go to `emit`, in order.
/// When the daemon cannot be reached (-65537 at once) or goes away (-65537 in a callback),
/// `start` throws or `.failed` is emitted and every handle is closed: start again later.
final class DNSSD: @unchecked Sendable {
    /// A service instance as seen on one interface.
    struct Instance: Hashable, Sendable {
        let interface: UInt32
        let name: String
    }

    enum Event: Sendable {
        /// One of our adverts is published (the daemon has probed its name).
        case published(name: String)
        /// A service is up at this address.
        case appeared(Instance, address: String, port: UInt16, txt: [UInt8])
        /// A service said goodbye (or its record expired).
        case disappeared(Instance)
        /// The daemon went away: every handle is closed.
        case failed(code: Int32)
    }

    struct Failure: Error, CustomStringConvertible {
        let code: Int32
        var description: String {
            code == -65537
                ? "avahi-daemon is not reachable (DNS-SD error -65537)" : "DNS-SD failed (error \(code))"
        }
    }

    /// How long a found service may take to resolve and give an address.
    static let lookupTimeout: DispatchTimeInterval = .seconds(5)

    private let queue = DispatchQueue(label: "meetkit.dnssd")
    private let type: String
    private let emit: @Sendable (Event) -> Void
    // All below: only on `queue`.
    private var adverts: [Handle] = []
    private var browser: Handle?
    private var lookups: [Instance: Handle] = [:]
    /// Browse "add"s not yet matched by a "remove", per instance (Avahi may report one per
    /// protocol on an interface).
    private var present: [Instance: Int] = [:]
    private var running = false

    init(type: String, emit: @escaping @Sendable (Event) -> Void) {
        self.type = type
        self.emit = emit
        setenv("AVAHI_COMPAT_NOWARN", "1", 1)  // its three-line warning on stderr
    }

    deinit {
        for handle in adverts + Array(lookups.values) + [browser].compactMap({ $0 }) { handle.close() }
    }

    /// Publishes one advert per TXT record, all on `port` under fresh random instance names,
    /// and browses (unless `browse` is false). Throws at once if the daemon is not reachable.
    func start(port: UInt16, adverts records: [[UInt8]], browse: Bool = true) throws {
        try queue.sync {
            stopOnQueue()
            running = true
            do {
                for record in records { adverts.append(try register(port: port, txt: record)) }
                if browse { browser = try startBrowsing() }
            } catch {
                stopOnQueue()
                throw error
            }
        }
    }

    /// Browses afresh, keeping the adverts: the daemon asks the network again at once, and
    /// every instance it lists (cached, or answering now) is looked up and reported again.
    /// A browse that has run for a while asks only about once an hour, so without this an
    /// advert missed during a partition, or one whose lookup failed, stays unseen.
    func browseAgain() {
        queue.sync {
            guard running, let old = browser else { return }
            old.close()
            for handle in lookups.values { handle.close() }
            lookups = [:]
            present = [:]
            do {
                browser = try startBrowsing()
            } catch {
                fail((error as? Failure)?.code ?? -65537)
            }
        }
    }

    /// Withdraws the adverts (sending goodbyes) and stops browsing.
    func stop() {
        queue.sync { stopOnQueue() }
    }

    private func stopOnQueue() {
        for handle in adverts + Array(lookups.values) + [browser].compactMap({ $0 }) { handle.close() }
        adverts = []
        browser = nil
        lookups = [:]
        present = [:]
        running = false
    }

    private func fail(_ code: Int32) {
        guard running else { return }
        stopOnQueue()
        emit(.failed(code: code))
    }

    // MARK: - Operations

    private func register(port: UInt16, txt: [UInt8]) throws -> Handle {
        let handle = Handle()
        handle.onRegister = { [unowned self] error, name in
            if error == 0 { emit(.published(name: name)) } else { fail(error) }
        }
        let name = "meetkit-" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try open(handle) { ref, context in
            DNSServiceRegister(
                &ref, 0, 0, name, type, nil, nil, port.bigEndian, UInt16(txt.count), txt, Self.registerReply, context)
        }
        return handle
    }

    private func startBrowsing() throws -> Handle {
        let handle = Handle()
        handle.onBrowse = { [unowned self] flags, interface, error, name in
            guard error == 0 else { return fail(error) }
            let instance = Instance(interface: interface, name: name)
            if flags & DNSServiceFlags(kDNSServiceFlagsAdd) != 0 {
                present[instance, default: 0] += 1
                if present[instance] == 1 { lookUp(instance) }
            } else if let count = present[instance] {
                if count > 1 {
                    present[instance] = count - 1
                } else {
                    present[instance] = nil
                    lookups.removeValue(forKey: instance)?.close()
                    emit(.disappeared(instance))
                }
            }
        }
        try open(handle) { ref, context in
            DNSServiceBrowse(&ref, 0, 0, type, nil, Self.browseReply, context)
        }
        return handle
    }

    /// Resolves `instance`, then queries its host's A record; gives up after `lookupTimeout`
    /// (a host that vanished without a goodbye stays listed, but no longer resolves).
    private func lookUp(_ instance: Instance) {
        let handle = Handle()
        handle.onResolve = { [unowned self] error, host, port, txt in
            lookups.removeValue(forKey: instance)?.close()
            guard error == 0 else { return }
            queryAddress(of: instance, host: host, port: port, txt: txt)
        }
        guard (try? open(handle, { ref, context in
            DNSServiceResolve(&ref, 0, instance.interface, instance.name, type, "local", Self.resolveReply, context)
        })) != nil else { return }
        lookups[instance] = handle
        expire(handle, of: instance)
    }

    private func queryAddress(of instance: Instance, host: String, port: UInt16, txt: [UInt8]) {
        let handle = Handle()
        handle.onRecord = { [unowned self] error, rdata in
            lookups.removeValue(forKey: instance)?.close()
            guard error == 0, rdata.count == 4 else { return }
            let address = rdata.map(String.init).joined(separator: ".")
            emit(.appeared(instance, address: address, port: port, txt: txt))
        }
        guard (try? open(handle, { ref, context in
            DNSServiceQueryRecord(
                &ref, 0, instance.interface, host, UInt16(kDNSServiceType_A), UInt16(kDNSServiceClass_IN), Self.recordReply,
                context)
        })) != nil else { return }
        lookups[instance] = handle
        expire(handle, of: instance)
    }

    private func expire(_ handle: Handle, of instance: Instance) {
        queue.asyncAfter(deadline: .now() + Self.lookupTimeout) { [weak self, weak handle] in
            guard let self, let handle, self.lookups[instance] === handle else { return }
            self.lookups.removeValue(forKey: instance)?.close()
        }
    }

    /// Starts a library call with `handle` as its callback context and watches its socket.
    private func open(
        _ handle: Handle, _ call: (inout DNSServiceRef?, UnsafeMutableRawPointer) -> DNSServiceErrorType
    ) throws {
        var ref: DNSServiceRef?
        let error = call(&ref, Unmanaged.passUnretained(handle).toOpaque())
        guard error == 0, let ref else { throw Failure(code: error) }
        let source = DispatchSource.makeReadSource(fileDescriptor: DNSServiceRefSockFD(ref), queue: queue)
        source.setEventHandler { [unowned self, unowned handle] in
            let error = DNSServiceProcessResult(ref)
            // A lookup's socket may close with its host; only the long-lived handles' failure
            // means the daemon is gone.
            if error != 0 && !lookups.values.contains(where: { $0 === handle }) { fail(error) }
        }
        // The socket is closed by the deallocation, so only after the source stops watching it;
        // the handle (the callbacks' context) lives until then.
        source.setCancelHandler { withExtendedLifetime(handle) { DNSServiceRefDeallocate(ref) } }
        handle.source = source
        source.resume()
    }

    /// One library handle: its callbacks and the source watching its socket.
    /// Only ever touched on the queue.
    private final class Handle: @unchecked Sendable {
        var source: DispatchSourceRead?
        var onRegister: ((Int32, String) -> Void)?
        var onBrowse: ((DNSServiceFlags, UInt32, Int32, String) -> Void)?
        var onResolve: ((Int32, String, UInt16, [UInt8]) -> Void)?
        var onRecord: ((Int32, [UInt8]) -> Void)?

        func close() {
            source?.cancel()
            source = nil
            onRegister = nil
            onBrowse = nil
            onResolve = nil
            onRecord = nil
        }
    }

    private static func handle(_ context: UnsafeMutableRawPointer?) -> Handle? {
        context.map { Unmanaged<Handle>.fromOpaque($0).takeUnretainedValue() }
    }

    private static let registerReply: DNSServiceRegisterReply = { _, _, error, name, _, _, context in
        handle(context)?.onRegister?(error, name.map { String(cString: $0) } ?? "")
    }

    private static let browseReply: DNSServiceBrowseReply = { _, flags, interface, error, name, _, _, context in
        handle(context)?.onBrowse?(flags, interface, error, name.map { String(cString: $0) } ?? "")
    }

    private static let resolveReply: DNSServiceResolveReply = { _, _, _, error, _, host, port, length, txt, context in
        let record = txt.map { Array(UnsafeBufferPointer(start: $0, count: Int(length))) } ?? []
        handle(context)?.onResolve?(error, host.map { String(cString: $0) } ?? "", UInt16(bigEndian: port), record)
    }

    private static let recordReply: DNSServiceQueryRecordReply = { _, _, _, error, _, _, _, length, rdata, _, context in
        let bytes = rdata.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
        handle(context)?.onRecord?(error, bytes)
    }
}

/// Whether this machine's avahi-daemon answers, for `meetkit doctor`.
public enum DNSSDDaemon {
    /// Throws a one-line reason unless a DNS-SD browse can be started.
    public static func check() throws {
        let probe = DNSSD(type: "_meetkit._tcp") { _ in }
        try probe.start(port: 0, adverts: [])
        probe.stop()
    }
}
