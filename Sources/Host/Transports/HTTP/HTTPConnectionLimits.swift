import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Bounds on HTTP/1 connections, so half-sent requests cannot pile up until descriptors run out:
/// a deadline for each request head, an idle timeout, and a cap on open connections.
struct HTTPConnectionLimits: Sendable {
    /// How long a request head may take: from the connection opening, or the first byte of a later request.
    var headerTimeout: Duration
    /// How long a connection may sit with no request, or with a request body that stops coming.
    var idleTimeout: Duration
    /// Connections open at once; beyond it new ones wait in the kernel's accept backlog.
    var maximumConnections: Int

    /// The server: hummingbird's HTTP/1 channel (whose idle timeout is ours), with the head deadline added.
    func serverBuilder() -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            HeadDeadlineHTTP1Channel(
                http1: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .init(idleTimeout))),
                headerTimeout: headerTimeout)
        }
    }

    var connectionCap: any AvailableConnectionsDelegate { MaximumAvailableConnections(maximumConnections) }
}

/// hummingbird's HTTP/1 channel with a `RequestHeadDeadline` watched on either side of the HTTP
/// codec: raw bytes mark a request's start, decoded heads and response ends the rest.
private struct HeadDeadlineHTTP1Channel: ServerChildChannel {
    let http1: HTTP1Channel
    let headerTimeout: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        let timer = RequestHeadTimer(deadline: RequestHeadDeadline(timeout: headerTimeout, openedAt: .now),
                                     channel: channel, logger: logger)
        do {
            try channel.pipeline.syncOperations.addHandler(RequestBytesWatcher(timer: timer), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
            try channel.pipeline.syncOperations.addHandler(RequestPartsWatcher(timer: timer), position: .after(codec))
            timer.schedule()
            return value
        }.nonisolated()
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// The connection's head deadline and the event-loop timer that closes it when overdue.
private final class RequestHeadTimer {
    var deadline: RequestHeadDeadline
    let channel: any Channel
    let logger: Logger
    private var scheduled: Scheduled<Void>?

    init(deadline: RequestHeadDeadline, channel: any Channel, logger: Logger) {
        self.deadline = deadline
        self.channel = channel
        self.logger = logger
    }

    func schedule() {
        scheduled?.cancel()
        scheduled = nil
        guard let due = deadline.deadline else { return }
        scheduled = channel.eventLoop.assumeIsolated().scheduleTask(in: .init(due - .now)) { [self] in
            guard deadline.isOverdue(at: .now) else { return }
            logger.debug("closing a connection whose request head took over \(deadline.timeout) (--http-header-timeout)")
            channel.close(promise: nil)
        }
    }

    func cancel() {
        scheduled?.cancel()
        scheduled = nil
    }
}

/// Before the HTTP decoder: notices the first byte of each request.
private final class RequestBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let timer: RequestHeadTimer

    init(timer: RequestHeadTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if timer.deadline.bytesArrived(at: .now) { timer.schedule() }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer.cancel()
        context.fireChannelInactive()
    }
}

/// After the HTTP decoder: notices complete request heads and the end of each response.
private final class RequestPartsWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    let timer: RequestHeadTimer

    init(timer: RequestHeadTimer) { self.timer = timer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            timer.deadline.headArrived()
            timer.schedule()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { timer.deadline.responseEnded() }
        context.write(data, promise: promise)
    }
}
