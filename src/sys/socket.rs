//! The sd_notify socket: a datagram socket in the abstract namespace whose
//! every message comes with its sender's credentials (SO_PASSCRED), as
//! systemd's own notify socket does; and the process-group lookup that maps a
//! sender to its unit.

use super::{check, errno};
use std::ffi::c_int;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A bound notify socket and its abstract name (without the leading NUL).
pub struct NotifySocket {
    pub fd: OwnedFd,
    pub name: Vec<u8>,
}

/// A datagram socket, non-blocking and close-on-exec, bound to a fresh name of
/// the abstract namespace chosen by the kernel (autobind), with SO_PASSCRED.
pub fn notify_socket() -> Result<NotifySocket, i32> {
    // SAFETY: socket takes no pointers; on success it returns a fresh descriptor.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: `fd` is fresh and owned by nobody else.
    let fd = super::pipe::above_stdio(unsafe { OwnedFd::from_raw_fd(fd) })?;
    let on: c_int = 1;
    // SAFETY: setsockopt reads one int from `on`, which lives for the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const c_int).cast(),
            size_of::<c_int>() as libc::socklen_t,
        )
    })?;
    // SAFETY: a sockaddr_un is plain data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    // An address of only the family: the kernel picks an abstract name.
    let family_only = size_of::<libc::sa_family_t>() as libc::socklen_t;
    // SAFETY: bind reads `family_only` bytes of `addr`, which lives for the call.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_un).cast(),
            family_only,
        )
    })?;
    let mut len = size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `addr` and the
    // address's length into `len`, both live.
    check(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut addr as *mut libc::sockaddr_un).cast(),
            &mut len,
        )
    })?;
    let path_len = (len as usize).saturating_sub(family_only as usize);
    let path = &addr.sun_path[..path_len.min(addr.sun_path.len())];
    // Abstract: the first byte is a NUL; the name is the rest.
    let name = path.iter().skip(1).map(|&c| c as u8).collect();
    Ok(NotifySocket { fd, name })
}

/// What one receive from the notify socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Datagram {
    /// This many bytes, from the process with this pid (0 when the kernel gave
    /// no credentials).
    Message { len: usize, pid: i32 },
    /// A message longer than the buffer (dropped: no notice is that long).
    Truncated,
    /// Nothing waiting.
    WouldBlock,
    /// The receive failed for good.
    Failed(i32),
}

/// Receives one datagram into `buf`, with its sender's pid.
pub fn recv_with_pid(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Datagram {
    // Room for one SCM_CREDENTIALS message, aligned for cmsghdr.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 8]>();
    let n = loop {
        // SAFETY: recvmsg writes at most iov_len bytes into `buf` and at most
        // msg_controllen into `control`, both live and borrowed mutably.
        let n = unsafe {
            libc::recvmsg(
                fd.as_raw_fd(),
                &mut msg,
                libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC,
            )
        };
        if n >= 0 {
            break n as usize;
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Datagram::WouldBlock,
            e => return Datagram::Failed(e),
        }
    };
    let mut pid = 0;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within
    // msg_controllen; an SCM_CREDENTIALS payload is one `ucred`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_CREDENTIALS {
                let cred = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::ucred>());
                pid = cred.pid;
            } else if header.cmsg_level == libc::SOL_SOCKET && header.cmsg_type == libc::SCM_RIGHTS
            {
                // Descriptors sent along (FDSTORE=1) are not kept: close them.
                let data = libc::CMSG_DATA(cmsg);
                let payload = header.cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..payload / size_of::<c_int>() {
                    let fd = std::ptr::read_unaligned(data.cast::<c_int>().add(i));
                    libc::close(fd);
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Datagram::Truncated;
    }
    Datagram::Message { len: n, pid }
}

/// The process group of `pid`, if it still exists.
pub fn process_group(pid: i32) -> Option<i32> {
    // SAFETY: getpgid takes no pointers.
    let pgid = unsafe { libc::getpgid(pid) };
    (pgid > 0).then_some(pgid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_datagram_comes_with_its_senders_pid() {
        let socket = notify_socket().unwrap();
        assert!(!socket.name.is_empty());
        let mut buf = [0u8; 64];
        assert_eq!(
            recv_with_pid(socket.fd.as_fd(), &mut buf),
            Datagram::WouldBlock
        );
        // Send from an unbound socket of our own, as sd_notify does.
        let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&socket.name).unwrap();
        sender.send_to_addr(b"READY=1", &addr).unwrap();
        let got = recv_with_pid(socket.fd.as_fd(), &mut buf);
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        assert_eq!(got, Datagram::Message { len: 7, pid: me });
        assert_eq!(&buf[..7], b"READY=1");
        assert!(process_group(me).is_some());
    }
}
