import NIOCore
import NIOHTTP1
import NIOPosix

/// `--metrics-port`: a small HTTP/1.1 server (SwiftNIO's codec) answering `GET /metrics` with
/// the Prometheus text format, on the server's bind address. Anything else gets 404 (405 for
/// another method on /metrics). Rendering takes a lock or two and a few microseconds per
/// series, so it runs on the event loop.
enum MetricsEndpoint {
    static func bind(
        group: any EventLoopGroup, host: String, port: Int, render: @escaping @Sendable () -> [UInt8]
    ) throws -> any Channel {
        try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(render: render))
                }
            }
            .bind(host: host, port: port).wait()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let render: @Sendable () -> [UInt8]
        private var request: HTTPRequestHead?

        init(render: @escaping @Sendable () -> [UInt8]) {
            self.render = render
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): request = head
            case .body: break
            case .end:
                guard let head = request else { return }
                request = nil
                respond(to: head, context: context)
            }
        }

        private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let status: HTTPResponseStatus
            var body: [UInt8]
            var contentType = "text/plain; charset=utf-8"
            if path != "/metrics" {
                status = .notFound
                body = Array("not found: metrics are at /metrics\n".utf8)
            } else if head.method != .GET && head.method != .HEAD {
                status = .methodNotAllowed
                body = Array("only GET\n".utf8)
            } else {
                status = .ok
                body = render()
                contentType = "text/plain; version=0.0.4; charset=utf-8"
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                body = []
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let keepAlive = head.isKeepAlive
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { ctx.value.close(promise: nil) }
            }
        }
    }
}
