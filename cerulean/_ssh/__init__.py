"""What SshTerminal is made of: one SSH connection and its channels.

``auth`` (keys, agent, passwords), ``config`` (``~/.ssh/config`` and
``host[:port]`` addresses), ``host_keys`` (known_hosts and the policies),
``connect`` (a verified, authenticated transport), ``wait`` (race-free
waiting for channel output), ``run`` (one command on its own channel) and
``shells`` (short commands on long-lived shells). Everything here uses
paramiko; :class:`cerulean.SshTerminal` owns the connection, and the SFTP
side (:mod:`cerulean._sftp`) borrows it.
"""
