//! `ates-dead-letters`: what the consumers set aside, and sending it back once fixed.
//!
//! ```text
//! ates-dead-letters queues                      # every consumer queue and how many it parked
//! ates-dead-letters list accounting.ates.tracker.task-lifecycle
//! ates-dead-letters replay accounting.ates.tracker.task-lifecycle [--limit 10]
//! ```
//!
//! Reads `AMQP_URL` and `AMQP_NAME_PREFIX` like the services. Replaying is safe to repeat: every
//! consumer drops an event it has already applied.

#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use ates_messaging::Topology;
use ates_messaging::dead_letters::{self, Parked};
use clap::{Parser, Subcommand};
use lapin::options::ConfirmSelectOptions;
use lapin::{Connection, ConnectionProperties};

#[derive(Debug, Parser)]
#[command(
    name = "ates-dead-letters",
    about = "Inspect and replay aTES dead-letter queues"
)]
struct Cli {
    /// The broker.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// The prefix the services put in front of every queue name.
    #[arg(long, env = "AMQP_NAME_PREFIX", default_value = "")]
    prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every consumer queue with the number of messages in its dead-letter queue.
    Queues,
    /// The messages parked for a consumer queue, oldest first, with why.
    List {
        /// A consumer queue, e.g. accounting.ates.tracker.task-lifecycle.
        queue: String,
    },
    /// Moves parked messages back to their consumer queue, oldest first.
    Replay {
        /// A consumer queue, e.g. accounting.ates.tracker.task-lifecycle.
        queue: String,
        /// At most this many messages.
        #[arg(long)]
        limit: Option<usize>,
    },
}

fn print(parked: &[Parked]) {
    for message in parked {
        let id = if message.event_id.is_empty() {
            "(not an event envelope)"
        } else {
            &message.event_id
        };
        println!(
            "{id}  {}  {} bytes  parked by {}: {}",
            message.event_type, message.size, message.parked_by, message.reason
        );
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let connection = Connection::connect(&cli.amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let topology = Topology::new(cli.prefix);
    match cli.command {
        Command::Queues => {
            for (queue, parked) in dead_letters::parked_counts(&connection, &topology).await? {
                let parked =
                    parked.map_or_else(|| "not declared yet".to_owned(), |n| n.to_string());
                println!("{queue:<48} {parked}");
            }
        }
        Command::List { queue } => {
            let parked = dead_letters::list(&channel, &topology, &queue).await?;
            print(&parked);
            println!("{} parked", parked.len());
        }
        Command::Replay { queue, limit } => {
            let moved = dead_letters::replay(&channel, &topology, &queue, limit).await?;
            print(&moved);
            println!("{} moved back to {queue}", moved.len());
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ates-dead-letters: {error}");
            ExitCode::FAILURE
        }
    }
}
