//! The typed command channel into the name-service task: how the API's
//! dispatch and the sender (`send::resolve`) ask it things. Each command
//! carries its own answer channel of the right type, so nothing travels as
//! JSON inside the daemon.

use std::net::Ipv4Addr;

use tokio::sync::{mpsc, oneshot};

use super::report::{NameInfo, NamesError, NamesReport, NodeReport};

/// An answer channel.
pub(crate) type Answer<T> = oneshot::Sender<Result<T, NamesError>>;

/// What the name-service task is asked.
#[derive(Debug)]
pub(crate) enum Command {
    /// Names, counters, uptime.
    Report(Answer<NamesReport>),
    /// Claim `NAME<03>` as an alias; answered once claimed or refused.
    Add(String, bool, Answer<NameInfo>),
    /// Release an alias.
    Del(String, Answer<String>),
    /// Resolve a name.
    Lookup(String, u8, Answer<Vec<Ipv4Addr>>),
    /// Ask a host for its names.
    NodeStatus(Ipv4Addr, Answer<NodeReport>),
}

/// A handle to the name-service task.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    tx: mpsc::Sender<Command>,
}

impl Names {
    /// A handle and the receiving end for the task.
    pub(crate) fn channel() -> (Names, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(64);
        (Names { tx }, rx)
    }

    async fn ask<T>(&self, make: impl FnOnce(Answer<T>) -> Command) -> Result<T, NamesError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| NamesError::Stopping)?;
        rx.await.unwrap_or(Err(NamesError::Stopping))
    }

    /// Names, counters, uptime.
    pub(crate) async fn report(&self) -> Result<NamesReport, NamesError> {
        self.ask(Command::Report).await
    }

    /// Claims an alias, or joins a group (`group`).
    pub(crate) async fn add(&self, name: String, group: bool) -> Result<NameInfo, NamesError> {
        self.ask(|a| Command::Add(name, group, a)).await
    }

    /// Releases an alias; answers the released name.
    pub(crate) async fn del(&self, name: String) -> Result<String, NamesError> {
        self.ask(|a| Command::Del(name, a)).await
    }

    /// Resolves `name<suffix>` to its owners' addresses.
    pub(crate) async fn lookup(
        &self,
        name: String,
        suffix: u8,
    ) -> Result<Vec<Ipv4Addr>, NamesError> {
        self.ask(|a| Command::Lookup(name, suffix, a)).await
    }

    /// A node status query.
    pub(crate) async fn node_status(&self, address: Ipv4Addr) -> Result<NodeReport, NamesError> {
        self.ask(|a| Command::NodeStatus(address, a)).await
    }
}
