print("meetkit-devtool: append-loop DIR (see Tests/MeetKitStoreTests)")
