//! A real SMTP listener on a free loopback port, for tests of services that send e-mail. The
//! protocol is mailin's; the sockets are ours, so a test can take the server away, bring it back
//! on the same port, or make it refuse.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// What the listener answers to a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    /// 250: accepted.
    Accept,
    /// 451: try again later.
    RefuseForNow,
    /// 550: mailbox unavailable, refused for good.
    RefuseForGood,
}

/// One message the listener accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body).
    pub data: Vec<u8>,
}

impl ReceivedMail {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("an e-mail message")
    }

    /// The `Message-ID` header, without angle brackets.
    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }

    /// The subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The plain-text body, decoded.
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|text| text.into_owned())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
struct State {
    mode: SmtpMode,
    messages: Vec<ReceivedMail>,
}

/// A running SMTP listener.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    serving: Arc<tokio::sync::Mutex<Option<JoinSet<()>>>>,
}

struct Session {
    state: Arc<Mutex<State>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Session {
    // Refusals come at RCPT: mailin keeps a session in its data state after a refused DATA end,
    // where the client's next commands would be read as message text.
    fn rcpt(&mut self, _to: &str) -> Response {
        match self.state.lock().unwrap().mode {
            SmtpMode::Accept => mailin::response::OK,
            SmtpMode::RefuseForNow => mailin::response::INTERNAL_ERROR,
            SmtpMode::RefuseForGood => mailin::response::NO_MAILBOX,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.state.lock().unwrap().messages.push(ReceivedMail {
            from: self.from.clone(),
            to: self.to.clone(),
            data: std::mem::take(&mut self.data),
        });
        mailin::response::OK
    }
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = Self {
            address: listener.local_addr()?,
            state: Arc::new(Mutex::new(State {
                mode: SmtpMode::Accept,
                messages: Vec::new(),
            })),
            serving: Arc::default(),
        };
        sink.serve(listener).await;
        Ok(sink)
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state.lock().unwrap().messages.clone()
    }

    /// What it answers from now on.
    pub fn set_mode(&self, mode: SmtpMode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Stops listening and drops every connection: the mail server is down.
    pub async fn stop(&self) {
        if let Some(mut serving) = self.serving.lock().await.take() {
            serving.shutdown().await;
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.address).await?;
        self.serve(listener).await;
        Ok(())
    }

    async fn serve(&self, listener: TcpListener) {
        let mut serving = JoinSet::new();
        let state = Arc::clone(&self.state);
        let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
        let accepted = Arc::clone(&connections);
        serving.spawn(async move {
            // Connections end with the accept loop: dropping this set aborts them.
            let _connections = connections;
            while let Ok((stream, peer)) = listener.accept().await {
                accepted
                    .lock()
                    .await
                    .spawn(converse(stream, peer.ip(), Arc::clone(&state)));
            }
        });
        *self.serving.lock().await = Some(serving);
    }
}

async fn converse(stream: tokio::net::TcpStream, peer: IpAddr, state: Arc<Mutex<State>>) {
    // Answers go out at once, as a real mail server's do (no Nagle delay on short replies).
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut session = SessionBuilder::new("ates-test-smtp").build(
        peer,
        Session {
            state,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        },
    );
    let reply = |response: &Response| response.buffer().unwrap_or_default();
    if writer.write_all(&reply(&session.greeting())).await.is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => {
                if writer.write_all(&reply(&response)).await.is_err() {
                    return;
                }
            }
            Action::Close | Action::UpgradeTls => {
                let _ = writer.write_all(&reply(&response)).await;
                return;
            }
            Action::NoReply => {}
        }
    }
}
