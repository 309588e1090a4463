package node

// ConfigFile is the containerd configuration file the node writes when it
// starts and containerd reads at every start: a test may change it (an
// installer does) and then call Restart.
func (n *Node) ConfigFile() string { return n.l.configFile() }
