# hub
