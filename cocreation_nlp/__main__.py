from cocreation_nlp.cli import main

main()
