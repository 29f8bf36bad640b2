"""Networks: the codec emulators, the JND network, the autoencoders, the neural codec, the
separator, discriminators and style feature networks. Import each from its module; shipped
weights load with `earshot.load_pretrained`."""
