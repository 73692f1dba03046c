import Foundation
import MeetKitCore
import MeetKitNode
import MeetKitStore

// What needs the network: a node (`meetkit run`'s, or one made for the occasion) to reach
// members with. The rest of the engine needs only the store.

/// One sync session just finished.
public struct Synced: Codable, Sendable, Equatable {
    public let peer: String
    public let name: String
    public let fingerprint: String
    public let address: String
    public let sent: Int
    public let received: Int
}

/// A group just joined, through a member's node.
public struct Joined: Codable, Sendable, Equatable {
    public let group: String
    public let name: String?
    public let received: Int
    /// The member whose node admitted this one.
    public let through: String
    public let throughName: String
    public let throughFingerprint: String
}

extension Request {
    /// Whether carrying it out needs a node, not only a store.
    public var needsNode: Bool {
        switch self {
        case .sync, .join, .peers: true
        default: false
        }
    }
}

extension Engine {
    /// Carries out `request` on `node`: those that reach members with it, the others on its
    /// store (on the node's actor, so that what they write is pushed to connected members).
    public static func perform(_ request: Request, on node: Node, now: Date = Date()) async -> Result<Response, EngineError> {
        do throws(EngineError) {
            switch request {
            case .sync(let peer, let group): return .success(.synced(try await sync(with: peer, group: group, on: node)))
            case .join(let code, let peer): return .success(.joined(try await join(code: code, peer: peer, on: node, now: now)))
            case .peers: return .success(.peers(await node.peers()))
            default:
                return await node.withStore { store in Result { () throws(EngineError) in try Engine(store: store).perform(request, now: now) } }
            }
        } catch {
            return .failure(error)
        }
    }

    /// Syncs once with the member's node at `peer` (HOST:PORT), in `group` or every group the
    /// two share; returns when both sides hold everything the other had.
    public static func sync(with peer: String, group selector: String?, on node: Node) async throws(EngineError) -> Synced {
        guard let address = PeerAddress(peer) else { throw EngineError(.malformedRequest, "A peer is HOST:PORT.") }
        let group: GroupID? = try await node.withStore { store in
            Result { () throws(EngineError) in try selector.map { selector throws(EngineError) in try Engine(store: store).group(selector) } }
        }.get()
        let report: Node.SyncReport
        do {
            report = try await Network.session(with: address, node: node, group: group) { id in try await node.waitUntilSynced(id) }
        } catch {
            throw EngineError(network: error)
        }
        let name = await node.withStore { store in
            store.groups.lazy.map { store.state(of: $0.id) }.first { $0.isMember(report.peer) }?
                .displayName(of: report.peer) ?? report.peer.fingerprint
        }
        return Synced(
            peer: report.peer.hex, name: name, fingerprint: report.peer.fingerprint, address: address.description, sent: report.sent,
            received: report.received)
    }

    /// Joins the group of the invite `code`, through the member's node at `peer`, or one found
    /// over DNS-SD. A new member then writes their profile (a member joining again, for keys
    /// they lacked, has one already).
    public static func join(code text: String, peer: String?, on node: Node, now: Date = Date()) async throws(EngineError) -> Joined {
        guard let code = InviteCode(text: text) else { throw EngineError(.malformedRequest, "That is not a complete MeetKit invite code.") }
        let address: PeerAddress?
        if let peer {
            guard let parsed = PeerAddress(peer) else { throw EngineError(.malformedRequest, "A peer is HOST:PORT.") }
            address = parsed
        } else {
            address = nil
        }
        let group = code.group
        let writeProfile: @Sendable () async throws -> Void = {
            _ = try await node.withStore { store in
                guard store.state(of: group).pseudonyms[store.memberID] == nil else { return }
                try store.append(.profile(pseudonym: store.pseudonym), to: group, at: now)
            }
        }
        let report: Node.SyncReport
        do {
            report = if let address {
                try await Network.join(with: code, at: address, node: node, afterSync: writeProfile)
            } else {
                try await Network.join(with: code, node: node, afterSync: writeProfile)
            }
        } catch {
            throw EngineError(network: error)
        }
        return await node.withStore { store in
            let state = store.state(of: group)
            return Joined(
                group: group.hex, name: store.summary(of: group).name, received: report.received, through: report.peer.hex,
                throughName: state.displayName(of: report.peer), throughFingerprint: report.peer.fingerprint)
        }
    }
}

extension EngineError {
    /// A failure to reach or sync with a member: the store's refusal with its code, or why the
    /// member could not be reached.
    init(network error: any Error) {
        switch error {
        case let error as EngineError: self = error
        case let error as StoreError: self.init(error)
        default: self.init(.unreachable, "\(error)")
        }
    }
}
