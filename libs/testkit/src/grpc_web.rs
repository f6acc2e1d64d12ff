//! A gRPC-web call as a browser makes it: HTTP/1.1, `application/grpc-web+proto`, the message in
//! a length-prefixed frame, the status in a trailer frame (or in the headers when the server
//! answers with trailers only).

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};

/// What came back from a gRPC-web call.
#[derive(Debug)]
pub struct GrpcWebAnswer {
    /// The HTTP status.
    pub http_status: u16,
    /// The HTTP response headers.
    pub headers: http::HeaderMap,
    /// The gRPC status code (0 is OK), from the trailer frame or the headers.
    pub grpc_status: Option<i32>,
    /// The gRPC status message, percent-decoded (it travels percent-encoded).
    pub grpc_message: String,
    /// The response message, encoded.
    pub message: Option<Bytes>,
}

impl GrpcWebAnswer {
    /// The response message decoded as `M`.
    pub fn decode<M: prost::Message + Default>(&self) -> anyhow::Result<M> {
        let message = self
            .message
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no message (grpc-status {:?})", self.grpc_status))?;
        Ok(M::decode(message)?)
    }
}

/// One HTTP/1.1 request to `address` (`127.0.0.1:port`).
pub async fn http1(
    address: std::net::SocketAddr,
    request: http::Request<Full<Bytes>>,
) -> anyhow::Result<http::Response<Bytes>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

/// Calls `path` (`/ates.auth.v1.AuthService/SignIn`) on `address` with gRPC-web over HTTP/1.1,
/// with `message` and extra `headers` (`origin`, `authorization`).
pub async fn grpc_web_call<M: prost::Message>(
    address: std::net::SocketAddr,
    path: &str,
    message: &M,
    headers: &[(&str, &str)],
) -> anyhow::Result<GrpcWebAnswer> {
    let encoded = message.encode_to_vec();
    let mut frame = Vec::with_capacity(encoded.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(encoded.len())?.to_be_bytes());
    frame.extend_from_slice(&encoded);
    let mut request = http::Request::post(format!("http://{address}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("host", address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = http1(address, request.body(Full::new(Bytes::from(frame)))?).await?;
    let (parts, mut body) = response.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let mut grpc_status = header("grpc-status").and_then(|status| status.parse().ok());
    let mut grpc_message = header("grpc-message").unwrap_or_default();
    let mut message = None;
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let length = usize::try_from(body.get_u32())?;
        anyhow::ensure!(body.remaining() >= length, "a gRPC-web frame is cut short");
        let payload = body.split_to(length);
        if flag & 0x80 == 0 {
            message = Some(payload);
            continue;
        }
        for line in String::from_utf8_lossy(&payload).split("\r\n") {
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "grpc-status" => grpc_status = value.trim().parse().ok(),
                    "grpc-message" => grpc_message = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
    }
    Ok(GrpcWebAnswer {
        http_status: parts.status.as_u16(),
        headers: parts.headers,
        grpc_status,
        grpc_message: percent_decoded(&grpc_message),
        message,
    })
}

/// A CORS preflight for a gRPC-web call from `origin`, as a browser sends it.
pub async fn preflight(
    address: std::net::SocketAddr,
    path: &str,
    origin: &str,
) -> anyhow::Result<http::Response<Bytes>> {
    let request = http::Request::options(format!("http://{address}{path}"))
        .header("host", address.to_string())
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web,x-user-agent",
        )
        .body(Full::new(Bytes::new()))?;
    http1(address, request).await
}

/// `grpc-message` as sent: UTF-8 with `%XX` escapes.
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| raw.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
