print("meetkit-bench")
